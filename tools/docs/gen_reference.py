"""The reference pages of the docs site, generated from the code so they cannot go stale.

- `reference/cli.md`: every command of the Typer app `stocky.cli.main:app`, its usage, help
  and options (names, type, default, help).
- `reference/api.md`: every operation of the OpenAPI schema of `create_app(Settings(...))`,
  with parameters, request body, responses and the schemas they use.
- `reference/settings.md`: every field of `stocky.config.Settings`, grouped by concern, with its
  environment variable, type, default and description.

The site's build calls `generate()` through `tools/docs/hooks.py` (pages exist only in the
built site); `python tools/docs/gen_reference.py --out DIR` writes them to a folder to read.
A setting without a description fails the build: give the field a `description=` in
`stocky.config.groups`, or (until then) a line in `SETTINGS_NOTES` below.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import types
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT / "src") not in sys.path:  # document this checkout, not an installed copy
    sys.path.insert(0, str(ROOT / "src"))

__all__ = ["SETTINGS_NOTES", "ReferenceError", "api_page", "cli_page", "generate", "settings_page"]

#: Descriptions for the Settings fields that have none in the code yet (wording from the
#: configuration table the README used to hold). A note for a field that has gained its own
#: description, or no longer exists, fails the build, so this list only shrinks.
SETTINGS_NOTES: dict[str, str] = {
    "yahoo_timeout_seconds": "Yahoo download timeout per request.",
    "yahoo_retries": "Yahoo download retries (exponential backoff).",
    "host": "Where `stocky serve` listens.",
    "port": "Port of `stocky serve`.",
    "min_prices": "Fewest prices `recent_prices` may hold.",
    "max_prices": "Most prices `recent_prices` may hold.",
    "max_body_bytes": "Request body limit (413 above it).",
    "admin_api_key": "Enables `/admin/*` (sent as `X-API-Key`, compared in constant time).",
    "drift_window": "Labeled sessions of the rolling-error drift rule.",
    "drift_threshold_multiplier": "The rule's threshold as a multiple of the baseline.",
    "drift_consecutive_days": "Breaching sessions in a row that make drift.",
    "drift_metric": "Metric of the rule: `rmse`, `return_rmse`, `mape` or `mase`.",
    "drift_cooldown_sessions": (
        "Sessions after a retrain or rollback during which a breach is reported as `cooldown` "
        "(both detectors)."
    ),
    "holdout_size": "Sessions of the holdout on which champion, challenger and naive are scored.",
    "min_improvement": "How much the challenger's RMSE must beat the champion's to be promoted.",
    "naive_tolerance": "How much worse than naive's the challenger's RMSE may be.",
    "dm_alpha": "When set, the Diebold-Mariano p-value a promotion must be below.",
    "alert_backoff_max_seconds": "Longest wait between delivery attempts (the wait doubles).",
    "log_level": "Log level.",
}


class ReferenceError(RuntimeError):
    """The code cannot be documented as it stands (the message says what to fix)."""


def _cell(text: object) -> str:
    """Text for one Markdown table cell: one line, pipes escaped, and `<`/`>` outside code
    spans escaped so that `<TICKER>.csv` is not taken for an HTML tag."""
    parts = " ".join(str(text).split()).replace("|", "\\|").split("`")
    for i in range(0, len(parts), 2):  # even parts lie outside backticks
        parts[i] = parts[i].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts)


def _code(text: object) -> str:
    """Inline code for a table cell (backticks inside widen the fence)."""
    raw = " ".join(str(text).split()).replace("|", "\\|")
    fence = "``" if "`" in raw else "`"
    pad = " " if raw.startswith("`") or raw.endswith("`") else ""
    return f"{fence}{pad}{raw}{pad}{fence}"


# --- CLI ------------------------------------------------------------------------------------


def _type_name(annotation: Any) -> str:
    """TEXT, INTEGER, FLOAT, PATH, DATE; a list is its item's type (the option repeats)."""
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set):
        return _type_name(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _type_name(args[0]) if len(args) == 1 else "TEXT"
    if origin is typing.Literal:
        return "|".join(str(a) for a in typing.get_args(annotation))
    names = {int: "INTEGER", float: "FLOAT", str: "TEXT", bool: "", Path: "PATH", dt.date: "DATE"}
    return names.get(annotation, getattr(annotation, "__name__", "TEXT").upper())


def _option_row(param: Any) -> tuple[str, str, str, str]:
    names = ", ".join([*param.opts, *param.secondary_opts])
    if param.param_type_name == "argument":
        names = param.name.upper()
    descriptor = getattr(param, "type_descriptor", None)
    annotation = descriptor.annotation if descriptor is not None else str
    kind = "" if getattr(param, "is_flag", False) else _type_name(annotation)
    if param.multiple:
        kind = f"{kind}, repeatable" if kind else "repeatable"
    if param.required:
        default = "required"
    elif param.default is None or param.default == () or param.default == []:
        default = ""
    elif isinstance(param.default, bool) and param.secondary_opts:
        default = param.opts[0] if param.default else param.secondary_opts[0]
    elif isinstance(param.default, bool):
        default = "on" if param.default else ""
    else:
        default = str(param.default)
    return names, kind, default, param.help or ""


def _commands(app: Any) -> Iterable[tuple[str, Any, Any]]:
    """(path, command, its context) for every command of the app, depth first, in order."""
    import typer

    root = typer.main.get_command(app)
    top = root.context_class(root, info_name="stocky")

    def walk(command: Any, ctx: Any, path: str) -> Iterable[tuple[str, Any, Any]]:
        yield path, command, ctx
        if hasattr(command, "list_commands"):
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is None or getattr(sub, "hidden", False):
                    continue
                yield from walk(
                    sub, sub.context_class(sub, info_name=name, parent=ctx), f"{path} {name}"
                )

    yield from walk(root, top, "stocky")


def cli_page() -> str:
    """`reference/cli.md`."""
    from stocky.cli.main import app

    out = [
        "# CLI reference",
        "",
        "Generated from the Typer app `stocky.cli.main:app` when the site is built. Run any",
        "command with `--help` for the same text in a terminal. Every option without a value on",
        "the command line falls back to its `STOCKY_*` setting ([settings](settings.md)).",
        "",
        "## Exit codes",
        "",
        "Errors go to stderr as `error: <what went wrong>: <how to fix it>` with the code of",
        "their kind; outcomes that are not errors have codes of their own.",
        "",
        "| code | meaning |",
        "|---:|---|",
        "| 0 | success |",
        *[f"| {code} | {_cell(text)} |" for code, text in _exit_codes()],
        "",
        "## Commands",
        "",
    ]
    for path, command, ctx in _commands(app):
        is_group = hasattr(command, "list_commands")
        if is_group and path == "stocky":
            out += [_help_text(command), ""]
            continue
        out += [f"### `{path}`", ""]
        if not is_group:
            usage = command.get_usage(ctx).removeprefix("Usage: ")
            out += ["```", usage, "```", ""]
        out += [_help_text(command), ""]
        if is_group:
            subs = [
                f"[`{path} {n}`](#{_anchor(f'{path} {n}')})" for n in command.list_commands(ctx)
            ]
            out += ["Commands: " + ", ".join(subs) + ".", ""]
            continue
        rows = [_option_row(p) for p in command.get_params(ctx) if not getattr(p, "hidden", False)]
        rows = [r for r in rows if r[0] != "--help"]
        if rows:
            out += ["| option | type | default | help |", "|---|---|---|---|"]
            out += [
                f"| {_code(n)} | {_cell(k)} | {_code(d) if d else ''} | {_cell(h)} |"
                for n, k, d, h in rows
            ]
            out.append("")
    return "\n".join(out)


def _exit_codes() -> list[tuple[int, str]]:
    """(code, meaning) from the error classes' `exit_code` and the commands' outcome codes."""
    from stocky import errors
    from stocky.adapters.lock import AlreadyRunning
    from stocky.cli.drift import DRIFT_EXIT_CODE
    from stocky.cli.retrain import REJECTED_EXIT_CODE
    from stocky.pipelines.fleet import PARTIAL_EXIT

    found: dict[int, str] = {}
    kinds = [getattr(errors, name) for name in errors.__all__] + [AlreadyRunning]
    for kind in sorted(kinds, key=lambda k: (k.exit_code, k.__mro__.index(errors.StockyError))):
        doc = (kind.__doc__ or kind.__name__).strip().split("\n\n")[0]
        found.setdefault(kind.exit_code, f"`{kind.__name__}`: {' '.join(doc.split())}")
    found[DRIFT_EXIT_CODE] = (
        "drift detected (`stocky drift`): the detector in charge asks for a retrain"
    )
    found[PARTIAL_EXIT] = (
        "some tickers trained and some failed (`stocky train` over several tickers: the summary "
        "lists each failure; when every ticker failed, the first one's own code)"
    )
    found[REJECTED_EXIT_CODE] = "challenger rejected (`stocky retrain`)"
    return sorted(found.items())


def _help_text(command: Any) -> str:
    text = (command.help or "").strip()
    # Click's \b marks a paragraph not to rewrap; Markdown needs none
    return "\n".join(line for line in text.splitlines() if line.strip() != "\b")


def _anchor(title: str) -> str:
    """The id Python-Markdown's toc gives a heading `### \\`title\\``."""
    import re

    slug = re.sub(r"[^\w\s-]", "", title.lower()).strip()
    return re.sub(r"[-\s]+", "-", slug)


# --- REST API -------------------------------------------------------------------------------


def _schema_type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{_anchor(name)})"
    if "anyOf" in schema or "oneOf" in schema:
        return " or ".join(_schema_type(s) for s in schema.get("anyOf", schema.get("oneOf", [])))
    if schema.get("type") == "array":
        return f"array of {_schema_type(schema.get('items', {}))}"
    if "enum" in schema:
        return " \\| ".join(f"`{v}`" for v in schema["enum"])
    if "const" in schema:
        return f"`{schema['const']}`"
    kind = schema.get("type", "any")
    fmt = schema.get("format")
    return f"{kind} ({fmt})" if fmt else str(kind)


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        found = {node["$ref"].rsplit("/", 1)[-1]} if "$ref" in node else set()
        for value in node.values():
            found |= _refs(value)
        return found
    if isinstance(node, list):
        return set().union(*(_refs(v) for v in node)) if node else set()
    return set()


def _openapi() -> dict[str, Any]:
    from stocky.api.app import create_app
    from stocky.config import Settings

    with tempfile.TemporaryDirectory(prefix="stocky-docs-") as home:
        app = create_app(Settings(home=Path(home)))
        return app.openapi()


def api_page() -> str:
    """`reference/api.md`."""
    spec = _openapi()
    info = spec["info"]
    out = [
        "# REST API reference",
        "",
        f"Generated from the OpenAPI {spec['openapi']} schema of `create_app(Settings())` "
        f"(`{info['title']}` {info['version']}) when the site is built. A running server",
        "serves the same schema at `/openapi.json`, with Swagger UI at `/docs`. How to use the",
        "routes, and every error they answer, is in [Serving forecasts](../guide/serving.md).",
        "",
        _cell(info.get("description", "")),
        "",
        "| method | path | summary |",
        "|---|---|---|",
    ]
    operations = [
        (path, method, op)
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]
    for path, method, op in operations:
        title = f"{method.upper()} {path}"
        out.append(
            f"| {method.upper()} | [`{path}`](#{_anchor(title)}) | {_cell(op.get('summary', ''))} |"
        )
    out.append("")
    schemes = spec.get("components", {}).get("securitySchemes", {})
    if schemes:
        out += ["## Authentication", "", "| scheme | how | description |", "|---|---|---|"]
        for name, scheme in schemes.items():
            how = (
                f"header `{scheme['name']}`"
                if scheme["type"] == "apiKey"
                else scheme.get("scheme", "")
            )
            out.append(f"| `{name}` | {how} | {_cell(scheme.get('description', ''))} |")
        out.append("")
    out += ["## Operations", ""]
    used: set[str] = set()
    for path, method, op in operations:
        out += [
            f"### {method.upper()} {path}",
            "",
            (op.get("description") or op.get("summary", "")).strip(),
            "",
        ]
        if op.get("security"):
            names = sorted({name for entry in op["security"] for name in entry})
            out += [
                "Client key: " + ", ".join(f"`{n}`" for n in names) + " (when keys are required).",
                "",
            ]
        params = op.get("parameters", [])
        if params:
            out += ["| parameter | in | type | required | description |", "|---|---|---|---|---|"]
            for p in params:
                out.append(
                    f"| `{p['name']}` | {p['in']} | {_schema_type(p.get('schema', {}))} | "
                    f"{'yes' if p.get('required') else 'no'} | {_cell(p.get('description', ''))} |"
                )
            out.append("")
        body = op.get("requestBody")
        if body:
            for media, content in body.get("content", {}).items():
                out += [f"Request body (`{media}`): {_schema_type(content.get('schema', {}))}", ""]
        out += ["| status | description | body |", "|---|---|---|"]
        for status, response in op.get("responses", {}).items():
            schemas = [c.get("schema", {}) for c in response.get("content", {}).values()]
            kinds = ", ".join(_schema_type(s) for s in schemas if s)
            out.append(f"| {status} | {_cell(response.get('description', ''))} | {kinds} |")
        out.append("")
        used |= _refs(op)
    components = spec.get("components", {}).get("schemas", {})
    pending, seen = sorted(used), set()
    while pending:  # schemas referenced by schemas, too
        name = pending.pop()
        if name in seen or name not in components:
            continue
        seen.add(name)
        pending += sorted(_refs(components[name]) - seen)
    out += ["## Schemas", ""]
    for name in sorted(seen):
        schema = components[name]
        out += [f"### {name}", ""]
        if schema.get("description"):
            out += [schema["description"].strip(), ""]
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        if props:
            out += ["| field | type | required | description |", "|---|---|---|---|"]
            for field, sub in props.items():
                out.append(
                    f"| `{field}` | {_schema_type(sub)} | {'yes' if field in required else 'no'} | "
                    f"{_cell(sub.get('description', sub.get('title', '')))} |"
                )
            out.append("")
    return "\n".join(out)


# --- settings -------------------------------------------------------------------------------


def _default(field: Any) -> str:
    from pydantic_core import PydanticUndefined

    if field.default_factory is not None:
        return "(computed)"
    value = field.default
    if value is PydanticUndefined or value is None:
        return ""
    if isinstance(value, Path | dt.date):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "get_secret_value"):
        return "(secret)"
    return str(value)


def _constraints(field: Any) -> str:
    words = {"ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
    found = []
    for meta in field.metadata:
        for attr, sign in words.items():
            value = getattr(meta, attr, None)
            if value is not None:
                found.append(f"{sign} {value}")
    return ", ".join(found)


def _settings_type(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return " or ".join(_settings_type(a) for a in args)
    if origin is typing.Literal:
        return " | ".join(f"`{a}`" for a in typing.get_args(annotation))
    names = {
        int: "integer",
        float: "number",
        str: "text",
        bool: "boolean",
        Path: "path",
        dt.date: "date",
    }
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def settings_page() -> str:
    """`reference/settings.md`; raises ReferenceError for a field without a description."""
    from stocky.config import Settings

    prefix = Settings.model_config.get("env_prefix", "")
    fields = Settings.model_fields
    stale = sorted(n for n in SETTINGS_NOTES if n not in fields or fields[n].description)
    if stale:
        raise ReferenceError(
            f"SETTINGS_NOTES in tools/docs/gen_reference.py has notes for {stale}, which now "
            "have a description in the code or no longer exist: delete those notes"
        )
    missing = sorted(n for n, f in fields.items() if not f.description and n not in SETTINGS_NOTES)
    if missing:
        raise ReferenceError(
            f"Settings fields without a description: {missing}: add description= to each field "
            "in stocky.config.groups"
        )
    groups = [c for c in Settings.__mro__ if c.__module__ == "stocky.config.groups"]
    out = [
        "# Settings reference",
        "",
        "Generated from `stocky.config.Settings` when the site is built. Every setting is read",
        f"from an environment variable, `{prefix}` + the field name in upper case, or from a",
        "`.env` file in the working directory; the environment wins. Secrets are never printed.",
        "A combination that cannot work (a webhook URL without its secret, more minimum prices",
        "than maximum) stops every command at start-up with a message naming the variables.",
        "",
    ]
    listed: set[str] = set()
    for group in groups:
        names = [n for n in group.__annotations__ if n in fields and n not in listed]
        if not names:
            continue
        doc = (group.__doc__ or group.__name__).strip().splitlines()[0]
        title = group.__name__.removesuffix("Settings") or group.__name__
        out += [
            f"## {title}",
            "",
            doc,
            "",
            "| variable | type | default | description |",
            "|---|---|---|---|",
        ]
        for name in names:
            field = fields[name]
            kind = _settings_type(field.annotation)
            limits = _constraints(field)
            if limits:
                kind = f"{kind} ({limits})"
            description = field.description or SETTINGS_NOTES[name]
            default = _default(field)
            out.append(
                f"| `{prefix}{name.upper()}` | {_cell(kind)} | {_code(default) if default else ''} | "
                f"{_cell(description)} |"
            )
            listed.add(name)
        out.append("")
    left = [n for n in fields if n not in listed]
    if left:
        raise ReferenceError(f"Settings fields in no group of stocky.config.groups: {left}")
    return "\n".join(out)


PAGES: dict[str, Callable[[], str]] = {
    "reference/cli.md": cli_page,
    "reference/api.md": api_page,
    "reference/settings.md": settings_page,
}


def generate() -> dict[str, str]:
    """Every generated page: its path under docs/ -> its Markdown."""
    return {path: make() + "\n" for path, make in PAGES.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the generated reference pages to a folder.")
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    args = parser.parse_args(argv)
    for path, text in generate().items():
        target = args.out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

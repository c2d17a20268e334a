"""Evaluate the Grafana board's own PromQL through a real Prometheus (no Grafana needed).

`load_board` reads the dashboard JSON (panels, grid positions, queries, units);
`run_prometheus` starts Debian's `prometheus` on 127.0.0.1 scraping one target every second
with the repository's alert rules; `template_values` sets `$ticker` the way Grafana's "All"
does and `$k` (tickers per panel) to its current value; `evaluate` runs every panel's queries
(`/api/v1/query_range`, or `/api/v1/query` for instant table queries). A PromQL error raises
`PromQLError` naming the panel and the query.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

__all__ = [
    "Panel",
    "PromQLError",
    "Query",
    "Series",
    "evaluate",
    "load_board",
    "run_prometheus",
    "template_values",
    "wait_for_scrapes",
]

HERE = Path(__file__).resolve().parent
BOARD = HERE / "dashboards" / "stocky.json"
ALERTS = HERE.parent / "prometheus" / "alerts.yml"
_LEGEND = re.compile(r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}")
_LABEL_VALUES = re.compile(r"^label_values\(\s*(.+?)\s*,\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$")


class PromQLError(RuntimeError):
    """Prometheus refused a panel's query (parse or evaluation error)."""


@dataclass(frozen=True)
class Query:
    ref: str
    expr: str
    legend: str
    instant: bool


@dataclass(frozen=True)
class Panel:
    id: int
    type: str
    title: str
    grid: tuple[int, int, int, int]  # x, y, w, h in Grafana's 24-column grid
    unit: str
    thresholds: list[tuple[float, str]]  # (from value, colour); the first starts at -inf
    queries: list[Query]


@dataclass
class Series:
    legend: str
    labels: dict[str, str]
    times: list[float] = field(default_factory=list)  # unix seconds
    values: list[float] = field(default_factory=list)


def load_board(path: Path = BOARD) -> tuple[dict[str, Any], list[Panel]]:
    """The dashboard JSON and its panels (rows included, collapsed rows' panels flattened)."""
    board = json.loads(path.read_text())
    raw: list[dict[str, Any]] = []
    for panel in board["panels"]:
        raw.append(panel)
        raw.extend(panel.get("panels", []))
    panels = []
    for p in raw:
        defaults = p.get("fieldConfig", {}).get("defaults", {})
        steps = defaults.get("thresholds", {}).get("steps") or [
            {"color": "green", "value": None},  # Grafana's default thresholds
            {"color": "red", "value": 80},
        ]
        thresholds = [
            (float("-inf") if s["value"] is None else s["value"], s["color"]) for s in steps
        ]
        queries = [
            Query(t.get("refId", "A"), t["expr"], t.get("legendFormat", ""), bool(t.get("instant")))
            for t in p.get("targets", [])
        ]
        box = p["gridPos"]
        grid = (box["x"], box["y"], box["w"], box["h"])
        panels.append(
            Panel(
                p["id"], p["type"], p["title"], grid, defaults.get("unit", ""), thresholds, queries
            )
        )
    return board, panels


def _api(
    client: httpx.Client, path: str, data: dict[str, Any], what: str, *, get: bool = False
) -> Any:
    # POST, as Grafana does: the expanded "All" regex of a large fleet is too long for a URL
    response = client.get(path, params=data) if get else client.post(path, data=data)
    if "json" not in response.headers.get("content-type", ""):
        raise PromQLError(f"{what}: HTTP {response.status_code}: {response.text[:300]}")
    body = response.json()
    if response.status_code != 200 or body.get("status") != "success":
        raise PromQLError(f"{what}: {body.get('errorType')}: {body.get('error')}")
    return body["data"]


def template_values(
    client: httpx.Client, board: dict[str, Any], *, overrides: dict[str, str] | None = None
) -> dict[str, str]:
    """Each variable's value as Grafana interpolates it.

    A query variable is set to "All": `(v1|v2|...)`, regex-escaped as Grafana does. A custom
    variable (such as `k`, the number of tickers per panel) takes its current value, or the one
    in `overrides`, which must be one of its options.
    """
    out: dict[str, str] = {}
    for variable in board.get("templating", {}).get("list", []):
        if variable["type"] == "custom":
            options = [o.strip() for o in variable["query"].split(",")]
            value = (overrides or {}).get(variable["name"], variable["current"]["value"])
            if value not in options:
                raise PromQLError(
                    f"variable {variable['name']}: {value!r} is not one of its options {options}"
                )
            out[variable["name"]] = value
            continue
        found = _LABEL_VALUES.match(variable["definition"])
        if not found:
            raise PromQLError(
                f"variable {variable['name']}: unsupported {variable['definition']!r}"
            )
        metric, label = found.groups()
        values = _api(
            client, f"/api/v1/label/{label}/values", {"match[]": metric}, variable["name"], get=True
        )
        escaped = [re.escape(v).replace("\\", "\\\\") for v in sorted(values)]
        out[variable["name"]] = "(" + "|".join(escaped) + ")"
    return out


def _expand(expr: str, variables: dict[str, str]) -> str:
    # longest names first, so that `$k` never replaces the start of a longer `$k...` name
    for name, value in sorted(variables.items(), key=lambda item: -len(item[0])):
        expr = expr.replace(f"${{{name}}}", value).replace(f"${name}", value)
    return expr


def _legend(fmt: str, labels: dict[str, str]) -> str:
    if fmt:
        return _LEGEND.sub(lambda m: labels.get(m.group(1), ""), fmt).strip()
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def evaluate(
    client: httpx.Client,
    panels: list[Panel],
    *,
    start: float,
    end: float,
    step: float,
    variables: dict[str, str],
) -> dict[int, list[list[Series]]]:
    """Every panel's queries over [start, end]: panel id -> one list of series per query.

    Raises:
        PromQLError: Prometheus answered a query with an error (the message names the panel).
    """
    results: dict[int, list[list[Series]]] = {}
    for panel in panels:
        per_query = []
        for query in panel.queries:
            expr = _expand(query.expr, variables)
            what = f"panel {panel.title!r} query {query.ref} {query.expr!r}"
            if query.instant:
                data = _api(client, "/api/v1/query", {"query": expr, "time": end}, what)
                rows = [{"metric": r["metric"], "values": [r["value"]]} for r in data["result"]]
            else:
                form = {"query": expr, "start": start, "end": end, "step": step}
                rows = _api(client, "/api/v1/query_range", form, what)["result"]
            series = []
            for row in rows:
                s = Series(_legend(query.legend, row["metric"]), row["metric"])
                for t, v in row["values"]:
                    s.times.append(float(t))
                    s.values.append(float(v))
                series.append(s)
            per_query.append(series)
        results[panel.id] = per_query
    return results


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def run_prometheus(
    workdir: Path, *, target: str, interval: str = "1s", binary: str | None = None
) -> Iterator[str]:
    """A Prometheus on 127.0.0.1 scraping `target` (host:port) every `interval`; yields its URL.

    The rules of deploy/prometheus/alerts.yml are loaded and evaluated at the same interval.
    The process is stopped (terminate, then kill after 10 s) when the block ends.
    """
    found = binary or shutil.which("prometheus")
    if not found:
        raise FileNotFoundError("prometheus not found: apt-get install prometheus")
    workdir.mkdir(parents=True, exist_ok=True)
    config = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "rule_files": [str(ALERTS)],
        "scrape_configs": [{"job_name": "stocky", "static_configs": [{"targets": [target]}]}],
    }
    (workdir / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = _free_port()
    log = (workdir / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            found,
            f"--config.file={workdir / 'prometheus.yml'}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {proc.returncode}: see {log.name}")
            with contextlib.suppress(httpx.TransportError):  # not listening yet: poll again
                if httpx.get(f"{url}/-/ready", timeout=1.0).status_code == 200:
                    break
            if time.monotonic() > deadline:
                raise TimeoutError(f"prometheus at {url} not ready after 30 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


def wait_for_scrapes(client: httpx.Client, count: int, *, timeout: float = 30.0) -> None:
    """Block until `up` has `count` successful samples (the target answered that often)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = _api(client, "/api/v1/query", {"query": "sum_over_time(up[5m])"}, "up")
        if data["result"] and float(data["result"][0]["value"][1]) >= count:
            return
        time.sleep(0.5)
    raise TimeoutError(f"fewer than {count} successful scrapes in {timeout} s")

"""MLflow: training runs, registered models `stocky-<ticker>`, aliases, and model spec load.

Aliases, never stages (MLflow 3). `champion` is what serving loads; the alias move is the
single switch that promotes a version. mlflow is imported lazily: it costs ~2 s.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sqlite3
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from urllib.request import url2pathname

from stocky import __version__
from stocky.adapters.ports import Champion, ModelVersionInfo, RunRecord
from stocky.adapters.pyfunc import mlmodel_text
from stocky.adapters.registry_sql import list_alias_versions, list_aliased_versions, sqlite_file
from stocky.core.spec import ModelSpec
from stocky.core.tickers import normalize_ticker, ticker_from_token, ticker_slug, ticker_token
from stocky.errors import BadInput, ModelNameTaken, ModelNotFound, RegistryError

__all__ = [
    "MODEL_PREFIX",
    "Champion",
    "ModelRegistry",
    "ModelVersionInfo",
    "RunRecord",
    "legacy_model_name",
    "model_name",
]

#: Every registered model of stocky is named `stocky-<ticker_token>`.
MODEL_PREFIX = "stocky-"

log = logging.getLogger(__name__)

#: Page size of MLflow searches; every search is paged through to the end.
PAGE_SIZE = 100
#: Page size of the bulk listing of registered models (MLflow's maximum for that search).
LISTING_PAGE_SIZE = 1000

SPEC_FILE = "spec.json"
MODEL_DIR = "model"


def _local_dir(source: str) -> Path | None:
    """The folder behind a `file:` artifact URI, read directly (MLflow's download of one small
    file costs ~10 ms of thread start-up and temporary folders; 1,000 champions load at start)."""
    parsed = urlparse(source)
    if parsed.scheme != "file" or parsed.netloc not in ("", "localhost"):
        return None
    return Path(url2pathname(parsed.path))


def model_name(ticker: str) -> str:
    """Registered model name of a normalised ticker, one-to-one (`ticker_token`).

    `AAPL` -> `stocky-aapl`, `BRK-B` -> `stocky-brk-b`, `BRK.B` -> `stocky-brk_db`,
    `^GSPC` -> `stocky-_cgspc`: tickers that differ only in punctuation never share a model.

    Raises:
        BadInput: The ticker is not a normalised symbol.
    """
    return MODEL_PREFIX + ticker_token(ticker)


def legacy_model_name(ticker: str) -> str | None:
    """The name older registries gave a ticker (`^GSPC` -> `stocky-gspc`, `BRK.B` ->
    `stocky-brk-b`: letters and digits only, so not one-to-one), or None when it is the same
    as `model_name` or the ticker has none."""
    slug = ticker_slug(ticker)
    name = MODEL_PREFIX + slug
    return name if slug and name != model_name(ticker) else None


def _name_taken(name: str, *, held: str, ticker: str) -> ModelNameTaken:
    own = model_name(held) if _is_symbol(held) else None
    rename = (
        f"rename it to {own!r} (MLflow UI, or MlflowClient().rename_registered_model({name!r}, "
        f"{own!r})) so {held} keeps its versions under its own name, then train {ticker} again"
        if own is not None
        else f"rename or delete it in MLflow, then train {ticker} again"
    )
    return ModelNameTaken(
        f"registered model {name!r} holds ticker {held!r}, not {ticker!r} (an older stocky "
        f"gave tickers that differ only in punctuation one name): {rename}"
    )


def _is_symbol(text: str) -> bool:
    try:
        return normalize_ticker(text) == text
    except BadInput:
        return False


class ModelRegistry:
    """Thin wrapper over an MlflowClient bound to one tracking URI and experiment."""

    def __init__(
        self, *, tracking_uri: str, experiment: str, artifact_root: str | None = None
    ) -> None:
        self.tracking_uri = tracking_uri
        self.experiment = experiment
        self.artifact_root = artifact_root
        self._client: Any = None
        self._experiment_id: str | None = None
        # (name, version) -> artifact source, learnt from listings: a version's source never
        # changes, so a listing saves load_version its own look-up
        self._sources: dict[tuple[str, int], str] = {}
        #: (run id, artifact URI) of the last run logged here: `register` follows `log_run`.
        self._last_run: tuple[str, str] | None = None
        #: ticker -> (its registered name, the other ticker holding that name or None)
        self._names: dict[str, tuple[str, str | None]] = {}

    @property
    def client(self) -> Any:
        if self._client is None:
            from mlflow import MlflowClient

            self._client = MlflowClient(
                tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri
            )
        return self._client

    def _exc(self) -> type[Exception]:
        from mlflow.exceptions import MlflowException

        return MlflowException

    def experiment_id(self) -> str:
        if self._experiment_id is None:
            try:
                exp = self.client.get_experiment_by_name(self.experiment)
                self._experiment_id = (
                    exp.experiment_id if exp is not None else self._create_experiment()
                )
            except self._exc() as exc:
                raise RegistryError(
                    f"cannot open MLflow experiment {self.experiment!r} at {self.tracking_uri}: {exc}"
                ) from exc
        return self._experiment_id

    def _create_experiment(self) -> str:
        try:
            return str(
                self.client.create_experiment(self.experiment, artifact_location=self.artifact_root)
            )
        except self._exc():
            # another worker process created it between our lookup and create: use theirs
            exp = self.client.get_experiment_by_name(self.experiment)
            if exp is None:
                raise
            return str(exp.experiment_id)

    def _ticker_tag(self, name: str) -> str | None:
        """The `ticker` tag of a registered model ("" without one), None when it does not exist."""
        try:
            model = self.client.get_registered_model(name)
        except self._exc() as exc:
            if getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
                return None
            raise RegistryError(f"reading registered model {name} failed: {exc}") from exc
        return str((model.tags or {}).get("ticker", ""))

    def _resolve(self, ticker: str) -> tuple[str, str | None]:
        """(The registered name of `ticker`, the other ticker that name holds, or None).

        The name is `model_name(ticker)`, unless a registry written by an older stocky holds
        this ticker's model under its legacy name: then that one, so its versions and aliases
        stay served. One or two registry reads per ticker and instance (listings fill this in
        for free); the answer is kept.
        """
        found = self._names.get(ticker)
        if found is not None:
            return found
        name = model_name(ticker)
        held = self._ticker_tag(name)
        if held is None:
            legacy = legacy_model_name(ticker)
            if legacy is not None and self._ticker_tag(legacy) == ticker:
                name, held = legacy, ticker
        found = (name, held if held and held != ticker else None)
        self._names[ticker] = found
        return found

    def _learn(self, name: str, tagged: str | None) -> None:
        """Note, from a listing, which ticker the model `name` holds (saves `_resolve` reads)."""
        if not tagged or not _is_symbol(tagged):
            return
        if name in (model_name(tagged), legacy_model_name(tagged)):
            self._names[tagged] = (name, None)
        try:
            owner = ticker_from_token(name.removeprefix(MODEL_PREFIX))
        except BadInput:
            return
        if owner != tagged and model_name(owner) == name:
            self._names[owner] = (name, tagged)

    def _read_name(self, ticker: str) -> str | None:
        """The name to read `ticker`'s model from; None when that name holds another ticker."""
        name, held = self._resolve(ticker)
        return None if held is not None else name

    def _write_name(self, ticker: str) -> str:
        """The name to register `ticker`'s versions under.

        Raises:
            ModelNameTaken: That name holds another ticker's model.
        """
        name, held = self._resolve(ticker)
        if held is not None:
            raise _name_taken(name, held=held, ticker=ticker)
        return name

    def log_run(self, record: RunRecord, *, spec: ModelSpec) -> str:
        """Create a finished run with params, metrics, tags, artifacts and the model spec.

        Params and metrics go in one `log_batch` call (MLflow splits it at its own batch
        limits), tags with the run's creation, and every artifact in one upload.

        Returns:
            The run id.
        """
        client = self.client
        try:
            run = client.create_run(
                self.experiment_id(), run_name=record.run_name, tags=dict(record.tags)
            )
        except self._exc() as exc:
            raise RegistryError(f"MLflow run logging failed at {self.tracking_uri}: {exc}") from exc
        run_id = run.info.run_id
        try:
            self._fill_run(run_id, record, spec=spec)
        except BaseException as exc:
            # a run left RUNNING looks like training in progress forever: end it as what
            # happened (SIGTERM or Ctrl-C: KILLED; an error: FAILED), then let the cause go on
            interrupted = isinstance(exc, KeyboardInterrupt | SystemExit)
            self._end_run(run_id, "KILLED" if interrupted else "FAILED")
            if isinstance(exc, self._exc()):
                raise RegistryError(
                    f"MLflow run logging failed at {self.tracking_uri}: {exc}"
                ) from exc
            raise
        # register() needs the run's artifact location: keep it rather than read the run back
        self._last_run = (str(run_id), str(run.info.artifact_uri))
        return str(run_id)

    def _end_run(self, run_id: str, status: str) -> None:
        try:
            self.client.set_terminated(run_id, status=status)
        except self._exc() as exc:  # the sweep in `end_stale_runs` catches it later
            log.warning("could not end MLflow run %s as %s: %s", run_id, status, exc)

    def _fill_run(self, run_id: str, record: RunRecord, *, spec: ModelSpec) -> None:
        from mlflow.entities import Metric, Param
        from mlflow.utils.time import get_current_time_millis

        client = self.client
        stamp = get_current_time_millis()
        client.log_batch(
            run_id,
            metrics=[Metric(k, float(v), stamp, 0) for k, v in record.metrics.items()],
            params=[Param(k, str(v)[:6000]) for k, v in record.params.items()],
        )
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            for rel, payload in record.artifacts.items():
                target = root / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(payload)
            model_dir = root / MODEL_DIR
            model_dir.mkdir(exist_ok=True)
            (model_dir / SPEC_FILE).write_text(json.dumps(spec.to_dict(), indent=2, sort_keys=True))
            # the pyfunc flavour over the spec: mlflow.pyfunc.load_model works, no pickle
            (model_dir / "MLmodel").write_text(
                mlmodel_text(
                    spec_file=SPEC_FILE,
                    created=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f"),
                    model_uuid=uuid.uuid4().hex,
                    stocky_version=__version__,
                )
            )
            client.log_artifacts(run_id, str(root))
        client.set_terminated(run_id)

    def end_stale_runs(self, *, now: dt.datetime, older_than: dt.timedelta) -> list[str]:
        """End as KILLED the runs of this experiment still RUNNING that started before
        `now - older_than` (their process was killed between creating and finishing them; a
        live run takes seconds to log).

        Returns:
            The ids of the runs ended.

        Raises:
            RegistryError: MLflow failed.
        """
        from mlflow.entities import ViewType

        cutoff = int((now - older_than).timestamp() * 1000)
        ended: list[str] = []
        token = None
        try:
            while True:
                page = self.client.search_runs(
                    [self.experiment_id()],
                    filter_string=f"attributes.status = 'RUNNING' and "
                    f"attributes.start_time < {cutoff}",
                    run_view_type=ViewType.ACTIVE_ONLY,
                    max_results=PAGE_SIZE,
                    page_token=token,
                )
                for run in page:
                    self.client.set_terminated(run.info.run_id, status="KILLED")
                    ended.append(str(run.info.run_id))
                token = page.token
                if not token:
                    break
        except self._exc() as exc:
            raise RegistryError(
                f"could not end stale MLflow runs at {self.tracking_uri}: {exc}"
            ) from exc
        return ended

    def register(self, ticker: str, run_id: str, *, tags: Mapping[str, str]) -> ModelVersionInfo:
        """Register the run's model spec as a new version of the ticker's model.

        The registered model (`model_name`, tagged with the ticker) is created on the first
        version; when it exists, MLflow's "already exists" answer is that check.

        Raises:
            ModelNameTaken: The name holds another ticker's model (an older registry).
            RegistryError: MLflow failed.
        """
        name = self._write_name(ticker)
        client = self.client
        try:
            try:
                client.create_registered_model(name, tags={"ticker": ticker})
            except self._exc() as exc:
                if getattr(exc, "error_code", "") != "RESOURCE_ALREADY_EXISTS":
                    raise
                held = self._ticker_tag(name)  # created since it was resolved: whose is it?
                if held and held != ticker:
                    self._names[ticker] = (name, held)
                    raise _name_taken(name, held=held, ticker=ticker) from None
            if self._last_run is not None and self._last_run[0] == run_id:
                artifact_uri = self._last_run[1]
            else:
                artifact_uri = client.get_run(run_id).info.artifact_uri
            mv = client.create_model_version(
                name, source=f"{artifact_uri}/{MODEL_DIR}", run_id=run_id, tags=dict(tags)
            )
        except self._exc() as exc:
            raise RegistryError(f"registering {name} failed: {exc}") from exc
        return self._info(ticker, mv)

    def set_alias(self, ticker: str, alias: str, version: int) -> None:
        """Point `alias` at `version` (one atomic registry write)."""
        name = self._write_name(ticker)
        try:
            self.client.set_registered_model_alias(name, alias, str(version))
        except self._exc() as exc:
            raise RegistryError(f"setting alias {alias} of {name} failed: {exc}") from exc

    def alias_version(self, ticker: str, alias: str) -> ModelVersionInfo | None:
        """The version an alias points at, or None when the model or alias does not exist."""
        name = self._read_name(ticker)
        if name is None:
            return None
        try:
            mv = self.client.get_model_version_by_alias(name, alias)
        except self._exc() as exc:
            code = getattr(exc, "error_code", "")
            if code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE", "NOT_FOUND"):
                return None
            raise RegistryError(f"reading alias {alias} of {name} failed: {exc}") from exc
        return self._info(ticker, mv)

    def alias_versions(self, tickers: Sequence[str], alias: str) -> list[ModelVersionInfo]:
        """`alias_version` of several tickers (those without the alias are left out).

        A local SQLite registry answers from one direct listing (no mlflow import in a server
        that reloads after a promotion); any other registry is asked ticker by ticker.

        Raises:
            RegistryError: The registry failed.
        """
        listed = self._listed_from_sqlite(alias)
        if listed is not None:
            wanted = set(tickers)
            return [info for info in listed if info.ticker in wanted]
        found = (self.alias_version(t, alias) for t in tickers)
        return [info for info in found if info is not None]

    def champion(self, ticker: str, alias: str = "champion") -> Champion | None:
        """The version behind `alias` with its spec, or None when there is no such model or alias.

        Raises:
            RegistryError: The registry failed or the spec is unreadable.
        """
        info = self.alias_version(ticker, alias)
        if info is None:
            return None
        return Champion(self.load_version(ticker, info.version), info)

    def load_spec(self, ticker: str, alias: str = "champion") -> tuple[ModelSpec, ModelVersionInfo]:
        """Download and parse the spec of the version behind `alias`.

        Raises:
            ModelNotFound: No such model or alias.
            RegistryError: The artifact is missing or unreadable.
        """
        info = self.alias_version(ticker, alias)
        if info is None:
            name, held = self._resolve(ticker)
            whose = f"; {name} holds {held}" if held is not None else ""
            raise ModelNotFound(
                f"no {alias!r} model for {ticker} ({name}{whose}): "
                f"run `stocky train --ticker {ticker}`"
            )
        return self.load_version(ticker, info.version), info

    def load_version(self, ticker: str, version: int) -> ModelSpec:
        """Download and parse the spec of one version (a local artifact is read in place).

        Raises:
            ModelNotFound: The ticker's name holds another ticker's model.
            RegistryError: The version is missing or its spec unreadable.
        """
        name = self._read_name(ticker)
        if name is None:
            raise ModelNotFound(
                f"{ticker} has no model: {model_name(ticker)} holds another ticker's; "
                f"run `stocky train --ticker {ticker}`"
            )
        try:
            source = self._sources.get((name, version))
            if source is None:
                source = self.client.get_model_version(name, str(version)).source
            local = _local_dir(source)
            if local is not None:  # a local artifact store: the file is the artifact
                data = json.loads((local / SPEC_FILE).read_text())
            else:
                import mlflow.artifacts

                with tempfile.TemporaryDirectory() as tmp:
                    path = mlflow.artifacts.download_artifacts(
                        artifact_uri=f"{source}/{SPEC_FILE}",
                        dst_path=tmp,
                        tracking_uri=self.tracking_uri,
                    )
                    data = json.loads(Path(path).read_text())
        except self._exc() as exc:
            raise RegistryError(f"loading {name} v{version} failed: {exc}") from exc
        except (OSError, ValueError) as exc:
            raise RegistryError(
                f"the spec of {name} v{version} is unreadable ({exc}): retrain"
            ) from exc
        return ModelSpec.from_dict(data)

    def run_artifact(self, run_id: str, path: str) -> bytes | None:
        """One artifact of a run as logged (a local artifact is read in place), or None.

        Raises:
            BadInput: `path` leaves the run's artifacts (absolute, or with "..").
            RegistryError: The registry failed.
        """
        parts = Path(path).parts
        if not path or Path(path).is_absolute() or ".." in parts:
            raise BadInput(f"artifact path {path!r} leaves the run: use a relative path")
        try:
            try:
                uri = str(self.client.get_run(run_id).info.artifact_uri)
            except self._exc() as exc:
                if getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
                    return None
                raise
            local = _local_dir(uri)
            if local is not None:
                target = local.joinpath(*parts)
                return target.read_bytes() if target.is_file() else None
            import mlflow.artifacts

            with tempfile.TemporaryDirectory() as tmp:
                try:
                    got = mlflow.artifacts.download_artifacts(
                        artifact_uri=f"{uri}/{path}", dst_path=tmp, tracking_uri=self.tracking_uri
                    )
                except (self._exc(), OSError):
                    return None  # the server says "not found" in several ways
                return Path(got).read_bytes()
        except self._exc() as exc:
            raise RegistryError(f"reading {path} of run {run_id} failed: {exc}") from exc
        except OSError as exc:
            raise RegistryError(f"reading {path} of run {run_id} failed: {exc}") from exc

    def versions(self, ticker: str) -> list[ModelVersionInfo]:
        """Every version of a ticker's model, newest first."""
        name = self._read_name(ticker)
        if name is None:
            return []
        try:
            found = self._all_pages(
                self.client.search_model_versions, filter_string=f"name = '{name}'"
            )
        except self._exc() as exc:
            raise RegistryError(f"listing versions of {name} failed: {exc}") from exc
        aliases = self.aliases(ticker) if found else {}
        infos = [
            self._info(ticker, mv, tuple(a for a, v in aliases.items() if v == int(mv.version)))
            for mv in found
        ]
        return sorted(infos, key=lambda i: i.version, reverse=True)

    def find_version(self, ticker: str, tag: str, value: str) -> ModelVersionInfo | None:
        """The newest version of a ticker's model whose tag `tag` equals `value` (one search)."""
        name = self._read_name(ticker)
        if name is None:
            return None
        for text in (name, tag, value):
            if "'" in text or "`" in text:
                raise BadInput(f"{text!r} contains a quote: registry searches cannot take it")
        try:
            found = self.client.search_model_versions(
                filter_string=f"name = '{name}' and tags.`{tag}` = '{value}'", max_results=10
            )
        except self._exc() as exc:
            raise RegistryError(f"searching versions of {name} by {tag} failed: {exc}") from exc
        if not found:
            return None
        return self._info(ticker, max(found, key=lambda mv: int(mv.version)))

    def aliases(self, ticker: str) -> dict[str, int]:
        """Alias -> version for a ticker's model ({} when the model does not exist)."""
        name = self._read_name(ticker)
        if name is None:
            return {}
        try:
            model = self.client.get_registered_model(name)
        except self._exc() as exc:
            if getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
                return {}
            raise RegistryError(f"reading aliases of {name} failed: {exc}") from exc
        return {alias: int(version) for alias, version in (model.aliases or {}).items()}

    def tickers(self) -> list[str]:
        """Tickers with a registered stocky model (from the `ticker` tag; untagged models
        are left out)."""
        try:
            models = self._all_pages(
                self.client.search_registered_models, filter_string=f"name LIKE '{MODEL_PREFIX}%'"
            )
        except self._exc() as exc:
            raise RegistryError(f"listing registered models failed: {exc}") from exc
        # a model without its ticker tag was not registered by stocky: no ticker to name
        return sorted(m.tags["ticker"] for m in models if "ticker" in m.tags)

    def champion_versions(self, alias: str = "champion") -> list[ModelVersionInfo]:
        """The version behind `alias` of every stocky model, from one paged listing.

        MLflow's registered-model search carries each model's aliases and latest version, so
        this costs one query per 1,000 models instead of a look-up per ticker. Models without
        the alias are left out. A local SQLite registry is read directly instead, without
        importing mlflow (`registry_sql`: ~10 ms instead of ~2.5 s of CPU at a server's start).

        Raises:
            RegistryError: The registry failed.
        """
        listed = self._listed_from_sqlite(alias)
        if listed is not None:
            return listed
        try:
            models = self._all_pages(
                self.client.search_registered_models,
                page_size=LISTING_PAGE_SIZE,
                filter_string=f"name LIKE '{MODEL_PREFIX}%'",
            )
        except self._exc() as exc:
            raise RegistryError(f"listing registered models failed: {exc}") from exc
        found: list[ModelVersionInfo] = []
        for model in models:
            self._learn(model.name, model.tags.get("ticker"))
            aliases = {a: int(v) for a, v in (model.aliases or {}).items()}
            version = aliases.get(alias)
            if version is None:
                continue
            held = None
            for mv in model.latest_versions or ():
                self._sources[(model.name, int(mv.version))] = mv.source
                if int(mv.version) == version:
                    held = mv
            found.append(
                ModelVersionInfo(
                    ticker=model.tags.get("ticker", model.name),
                    name=model.name,
                    version=version,
                    aliases=tuple(sorted(a for a, v in aliases.items() if v == version)),
                    # run and tags are listed for the latest version only
                    run_id=held.run_id if held is not None else None,
                    tags=dict(held.tags or {}) if held is not None else {},
                )
            )
        return sorted(found, key=lambda i: i.ticker)

    def _listed_from_sqlite(self, alias: str) -> list[ModelVersionInfo] | None:
        """`champion_versions` read from a local SQLite registry, or None where that does not
        apply. Unlike MLflow's listing, run id and tags are the aliased version's own even when
        it is not the latest."""
        path = sqlite_file(self.tracking_uri)
        if path is None:
            return None
        try:
            listed = list_alias_versions(path, alias, prefix=MODEL_PREFIX)
        except sqlite3.Error as exc:
            raise RegistryError(
                f"listing registered models failed at {self.tracking_uri}: {exc}"
            ) from exc
        if listed is None:
            return None
        found = []
        for mv in listed:
            self._learn(mv.name, mv.ticker)
            self._sources[(mv.name, mv.version)] = mv.source
            found.append(
                ModelVersionInfo(
                    ticker=mv.ticker or mv.name,
                    name=mv.name,
                    version=mv.version,
                    aliases=mv.aliases,
                    run_id=mv.run_id,
                    tags=mv.tags,
                )
            )
        return sorted(found, key=lambda i: i.ticker)

    def aliased_versions(self) -> list[ModelVersionInfo]:
        """Every version of every stocky model that holds an alias (what GET /models lists),
        from one listing instead of a search per ticker; by ticker, newest first.

        A local SQLite registry is read directly (`registry_sql`); any other registry with
        one paged search of the models (their aliases) and one of their versions.

        Raises:
            RegistryError: The registry failed.
        """
        path = sqlite_file(self.tracking_uri)
        listed = None
        if path is not None:
            try:
                listed = list_aliased_versions(path, prefix="stocky-")
            except sqlite3.Error as exc:
                raise RegistryError(
                    f"listing registered models failed at {self.tracking_uri}: {exc}"
                ) from exc
        if listed is not None:
            found = [
                ModelVersionInfo(
                    ticker=mv.ticker or mv.name,
                    name=mv.name,
                    version=mv.version,
                    aliases=mv.aliases,
                    run_id=mv.run_id,
                    tags=mv.tags,
                )
                for mv in listed
            ]
        else:
            found = self._aliased_from_searches()
        return sorted(found, key=lambda i: (i.ticker, -i.version))

    def _aliased_from_searches(self) -> list[ModelVersionInfo]:
        try:
            models = self._all_pages(
                self.client.search_registered_models,
                page_size=LISTING_PAGE_SIZE,
                filter_string="name LIKE 'stocky-%'",
            )
            held: dict[str, dict[int, list[str]]] = {}
            tickers: dict[str, str] = {}
            for model in models:
                tickers[model.name] = model.tags.get("ticker", model.name)
                for alias, version in (model.aliases or {}).items():
                    held.setdefault(model.name, {}).setdefault(int(version), []).append(alias)
            if not held:
                return []
            versions = self._all_pages(
                self.client.search_model_versions, filter_string="name LIKE 'stocky-%'"
            )
        except self._exc() as exc:
            raise RegistryError(f"listing registered models failed: {exc}") from exc
        found = []
        for mv in versions:
            aliases = held.get(mv.name, {}).get(int(mv.version))
            if aliases:
                found.append(self._info(tickers.get(mv.name, mv.name), mv, tuple(aliases)))
        return found

    def alias_map(self, alias: str = "champion") -> dict[str, int]:
        """Ticker -> version behind `alias`, for every stocky model that has one (one listing).

        What resuming a fleet run (`stocky train --if-missing`) needs to know.
        """
        return {info.ticker: info.version for info in self.champion_versions(alias)}

    @staticmethod
    def _all_pages(search: Any, *, page_size: int = PAGE_SIZE, **kwargs: Any) -> list[Any]:
        """Every result of an MLflow search: they return one page (100 by default) at a time."""
        found: list[Any] = []
        token: str | None = None
        while True:
            page = search(max_results=page_size, page_token=token, **kwargs)
            found.extend(page)
            token = getattr(page, "token", None)
            if not token:
                return found

    @staticmethod
    def _info(ticker: str, mv: Any, aliases: tuple[str, ...] | None = None) -> ModelVersionInfo:
        return ModelVersionInfo(
            ticker=ticker,
            name=mv.name,
            version=int(mv.version),
            aliases=tuple(
                sorted(aliases if aliases is not None else (getattr(mv, "aliases", ()) or ()))
            ),
            run_id=mv.run_id,
            tags=dict(mv.tags or {}),
        )

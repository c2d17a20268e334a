"""The champion model of every registered ticker, loaded in bulk and swapped in place on reload.

Requests read a `LoadedModel` reference from a dict; a reload builds the new one completely
and then replaces the dict entry, so requests in flight finish on the model they started with.

Two ways to find what changed:

- `refresh` lists every champion in one paged registry search (the aliases come with it) and
  loads those whose version differs, specs fetched by a few threads and their forecast weights
  computed together (start-up, admin reload, and a periodic full pass);
- `refresh_changed` reads the `promotions` change log past the last mark (one indexed query)
  and looks up only the tickers it names: the cheap poll. Every alias move stocky makes
  (training's first champion, promotions, rollbacks) writes a record after the move.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from stocky.adapters.ports import AuditLog, ModelVersionInfo, Registry
from stocky.core.families.served import ServedModel, prepare_many
from stocky.core.spec import ModelSpec
from stocky.core.trained_scores import WalkForwardScores, walk_forward_scores
from stocky.errors import BadInput, StockyError

__all__ = ["ChampionCache", "LoadedModel", "ReloadResult"]

log = logging.getLogger(__name__)

#: Spec downloads in flight at once: a remote registry answers each in tens of milliseconds.
LOAD_THREADS = 8


@dataclass(frozen=True)
class LoadedModel:
    """A champion ready to forecast."""

    ticker: str
    name: str
    version: int
    spec: ModelSpec
    forecaster: ServedModel
    aliases: tuple[str, ...]
    #: Read once at load (a request must not rebuild them): "ETS(A,N,N)", and "(p, d, q)" or None.
    label: str = ""
    arima_order: str | None = None
    #: Its training's walk-forward scores vs naive (tags and spec metrics), for the fleet pages.
    walk_forward: WalkForwardScores | None = None

    @property
    def model_type(self) -> str:
        return self.spec.model_type

    @property
    def order(self) -> str:
        """The model's label (the fleet pages' "model" column)."""
        return self.label


@dataclass(frozen=True)
class ReloadResult:
    """What one reload pass changed."""

    loaded: tuple[str, ...]
    unchanged: tuple[str, ...]
    failed: tuple[str, ...]
    #: "full" (every champion listed) or "changes" (the change log since the last mark).
    kind: str = "full"


class ChampionCache:
    """Ticker -> LoadedModel for the `champion` alias of each registered model.

    Args:
        registry: Where the champions are.
        changes: The change log (`promotions`); without it every refresh is a full listing.
        alias: The alias served.
        window_lengths: Window lengths whose forecast weights are computed at load.
        load_threads: Spec downloads in flight at once.
    """

    def __init__(
        self,
        registry: Registry,
        *,
        changes: AuditLog | None = None,
        alias: str = "champion",
        window_lengths: range = range(0),
        load_threads: int = LOAD_THREADS,
    ) -> None:
        self.registry = registry
        self.changes = changes
        self.window_lengths = window_lengths
        self.alias = alias
        self.load_threads = load_threads
        self._models: dict[str, LoadedModel] = {}
        self._sorted: list[str] | None = None
        self._lock = threading.Lock()
        #: The newest change-log id already applied (None until a full pass has set it).
        self.mark: int | None = None

    def get(self, ticker: str) -> LoadedModel | None:
        return self._models.get(ticker)

    def tickers(self) -> list[str]:
        names = self._sorted
        if names is None:
            names = self._sorted = sorted(self._models)
        return names

    def all(self) -> list[LoadedModel]:
        return [self._models[t] for t in self.tickers()]

    def __len__(self) -> int:
        return len(self._models)

    def refresh(self) -> ReloadResult:
        """List every champion at once and load those whose version differs (blocking).

        A ticker that fails to load keeps serving its previous model; the failure is logged
        with its reason and reported in the result.

        Raises:
            RegistryError: The listing failed (nothing changed).
            StoreError: The change log could not be read (nothing changed).
        """
        with self._lock:
            # the mark is read before the listing: a move in between is seen again next poll
            mark = self.changes.last_promotion_id() if self.changes is not None else None
            result = self._apply(self.registry.champion_versions(self.alias), kind="full")
            self.mark = mark
            return result

    def refresh_changed(self) -> ReloadResult:
        """Apply what the change log recorded since the last mark: one query when nothing did.

        Falls back to `refresh` without a change log or before the first full pass.

        Raises:
            RegistryError: A look-up failed (the mark stays, so the next poll retries).
            StoreError: The change log could not be read.
        """
        if self.changes is None or self.mark is None:
            return self.refresh()
        with self._lock:
            rows = self.changes.promotions_after(self.mark)
            if not rows:
                return ReloadResult((), (), (), kind="changes")
            tickers = sorted({row.ticker for row in rows})
            result = self._apply(self.registry.alias_versions(tickers, self.alias), kind="changes")
            self.mark = max(self.mark, *(row.id for row in rows))
            return result

    def _apply(self, infos: Iterable[ModelVersionInfo], *, kind: str) -> ReloadResult:
        unchanged: list[str] = []
        wanted: list[ModelVersionInfo] = []
        for info in infos:
            current = self._models.get(info.ticker)
            if current is not None and current.version == info.version:
                unchanged.append(info.ticker)
            else:
                wanted.append(info)
        loaded: list[str] = []
        failed: list[str] = []
        for info, outcome in zip(wanted, self._load_all(wanted), strict=True):
            if isinstance(outcome, StockyError):  # one broken model must not stop the others
                log.error(
                    "loading %s v%s failed, keeping the current model: %s",
                    info.ticker,
                    info.version,
                    outcome,
                    extra={"ticker": info.ticker, "model_version": info.version},
                )
                failed.append(info.ticker)
                continue
            self._models[info.ticker] = outcome
            loaded.append(info.ticker)
            log.debug(
                "serving %s %s v%d (%s)",
                info.ticker,
                info.name,
                info.version,
                outcome.order,
                extra={"ticker": info.ticker, "model_version": info.version},
            )
        if loaded:
            self._sorted = None
            log.info("loaded %d champion(s), %d unchanged", len(loaded), len(unchanged))
        return ReloadResult(tuple(loaded), tuple(unchanged), tuple(failed), kind=kind)

    def _load_all(self, infos: list[ModelVersionInfo]) -> list[LoadedModel | StockyError]:
        """Specs read by a few threads, then the weights of every window length computed for
        all of them at once (`prepare_many`), not on a request."""
        specs = self._read_all(infos)
        loaded: list[LoadedModel | StockyError] = []
        for info, spec in zip(infos, specs, strict=True):
            if isinstance(spec, StockyError):
                loaded.append(spec)
                continue
            try:
                forecaster = spec.forecaster()
            except StockyError as exc:  # returned: the caller logs it and keeps the old model
                loaded.append(exc)
                continue
            loaded.append(
                LoadedModel(
                    info.ticker,
                    info.name,
                    info.version,
                    spec,
                    forecaster,
                    info.aliases,
                    label=forecaster.label,
                    arima_order=forecaster.arima_order,
                    walk_forward=walk_forward_scores(info.tags, spec.metrics),
                )
            )
        return self._prepare([m for m in loaded if isinstance(m, LoadedModel)], loaded)

    def _read_all(self, infos: list[ModelVersionInfo]) -> list[ModelSpec | StockyError]:
        if len(infos) <= 1 or self.load_threads <= 1:
            return [self._read_or_error(info) for info in infos]
        with ThreadPoolExecutor(self.load_threads, thread_name_prefix="stocky-load") as pool:
            return list(pool.map(self._read_or_error, infos))

    def _read_or_error(self, info: ModelVersionInfo) -> ModelSpec | StockyError:
        try:
            return self.registry.load_version(info.ticker, info.version)
        except StockyError as exc:  # returned: the caller logs it and keeps the old model
            return exc

    def _prepare(
        self, models: list[LoadedModel], loaded: list[LoadedModel | StockyError]
    ) -> list[LoadedModel | StockyError]:
        """Prepare `models` (the successes in `loaded`) together; if their stack fails, each
        on its own, so only the model with unusable parameters fails."""
        try:
            prepare_many([m.forecaster for m in models], self.window_lengths)
            return loaded
        except (ValueError, np.linalg.LinAlgError) as exc:
            log.warning("preparing %d models together failed (%s): one at a time", len(models), exc)
        failed: dict[int, StockyError] = {}
        for model in models:
            try:
                model.forecaster.prepare(self.window_lengths)
            except (ValueError, np.linalg.LinAlgError) as exc:
                failed[id(model)] = BadInput(
                    f"{model.name} v{model.version} has parameters no forecast can use "
                    f"({type(exc).__name__}: {exc}): retrain {model.ticker}"
                )
        return [failed.get(id(m), m) for m in loaded]

"""The champion model of every registered ticker, loaded once and swapped in place on reload.

Requests read a `LoadedModel` reference from a dict; a reload builds the new one completely
and then replaces the dict entry, so requests in flight finish on the model they started with.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

from stocky.adapters.ports import ModelVersionInfo, Registry
from stocky.core.arima import ArimaForecaster
from stocky.core.spec import ModelSpec
from stocky.errors import StockyError

__all__ = ["ChampionCache", "LoadedModel", "ReloadResult"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadedModel:
    """A champion ready to forecast."""

    ticker: str
    name: str
    version: int
    spec: ModelSpec
    forecaster: ArimaForecaster
    aliases: tuple[str, ...]

    @property
    def order(self) -> str:
        return str(self.spec.params.order)


@dataclass(frozen=True)
class ReloadResult:
    """What one reload pass changed."""

    loaded: tuple[str, ...]
    unchanged: tuple[str, ...]
    failed: tuple[str, ...]


class ChampionCache:
    """Ticker -> LoadedModel for the `champion` alias of each registered model."""

    def __init__(
        self, registry: Registry, *, alias: str = "champion", window_lengths: range = range(0)
    ) -> None:
        self.registry = registry
        self.window_lengths = window_lengths
        self.alias = alias
        self._models: dict[str, LoadedModel] = {}
        self._lock = threading.Lock()

    def get(self, ticker: str) -> LoadedModel | None:
        return self._models.get(ticker)

    def tickers(self) -> list[str]:
        return sorted(self._models)

    def all(self) -> list[LoadedModel]:
        return [self._models[t] for t in self.tickers()]

    def _load(self, ticker: str, info: ModelVersionInfo) -> LoadedModel:
        spec = self.registry.load_version(ticker, info.version)
        # weights for every allowed window length are computed here, not on a request
        forecaster = spec.forecaster().prepare(self.window_lengths)
        return LoadedModel(ticker, info.name, info.version, spec, forecaster, info.aliases)

    def refresh(self) -> ReloadResult:
        """Load every champion whose version differs from the one held (blocking; run in a thread).

        A ticker that fails to load keeps serving its previous model; the failure is logged
        with its reason and reported in the result.
        """
        with self._lock:
            loaded: list[str] = []
            unchanged: list[str] = []
            failed: list[str] = []
            for ticker in self.registry.tickers():
                info = self.registry.alias_version(ticker, self.alias)
                if info is None:
                    continue
                current = self._models.get(ticker)
                if current is not None and current.version == info.version:
                    unchanged.append(ticker)
                    continue
                try:
                    model = self._load(ticker, info)
                except StockyError as exc:  # one broken model must not stop the others
                    log.error(
                        "loading %s v%s failed, keeping the current model: %s",
                        ticker,
                        info.version,
                        exc,
                    )
                    failed.append(ticker)
                    continue
                self._models[ticker] = model
                loaded.append(ticker)
                log.info("serving %s %s v%d (%s)", ticker, info.name, info.version, model.order)
            return ReloadResult(tuple(loaded), tuple(unchanged), tuple(failed))

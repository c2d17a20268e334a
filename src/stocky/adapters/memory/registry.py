"""The registry port in dicts: runs, registered models (one per `model_name`), versions, aliases.

Models are keyed by their registered name, as MLflow keys them: tickers that share a name
share a model here too. A spec is stored as its JSON document reads back (`to_dict` /
`from_dict` at registration), so a version never changes when the caller's object does.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from stocky.adapters.ports import Champion, ModelVersionInfo, RunRecord
from stocky.adapters.registry import model_name
from stocky.core.spec import ModelSpec
from stocky.errors import BadInput, ModelNotFound, RegistryError

__all__ = ["MemoryRegistry"]


@dataclass
class _Model:
    ticker: str  # the ticker of its first registration (MLflow's `ticker` tag)
    versions: list[ModelVersionInfo] = field(default_factory=list)
    specs: list[ModelSpec] = field(default_factory=list)
    aliases: dict[str, int] = field(default_factory=dict)


class MemoryRegistry:
    """Runs, registered versions and aliases of one process (see `ports.Registry`).

    Attributes:
        runs: Run id -> (the record, the spec) as logged.
    """

    def __init__(self) -> None:
        self.runs: dict[str, tuple[RunRecord, ModelSpec]] = {}
        self._models: dict[str, _Model] = {}
        self._ids = itertools.count(1)

    def log_run(self, record: RunRecord, *, spec: ModelSpec) -> str:
        run_id = f"run-{next(self._ids)}"
        self.runs[run_id] = (record, spec)
        return run_id

    def run_artifact(self, run_id: str, path: str) -> bytes | None:
        run = self.runs.get(run_id)
        return None if run is None else run[0].artifacts.get(path)

    def register(self, ticker: str, run_id: str, *, tags: Mapping[str, str]) -> ModelVersionInfo:
        name = model_name(ticker)
        run = self.runs.get(run_id)
        if run is None:
            raise RegistryError(f"registering {name} failed: run {run_id!r} does not exist")
        model = self._models.setdefault(name, _Model(ticker))
        info = ModelVersionInfo(ticker, name, len(model.versions) + 1, (), run_id, dict(tags))
        model.versions.append(info)
        model.specs.append(ModelSpec.from_dict(run[1].to_dict()))
        return info

    def set_alias(self, ticker: str, alias: str, version: int) -> None:
        name = model_name(ticker)
        model = self._models.get(name)
        if model is None or not 1 <= version <= len(model.versions):
            raise RegistryError(
                f"setting alias {alias} of {name} failed: it has no version {version}"
            )
        model.aliases[alias] = version

    def alias_version(self, ticker: str, alias: str) -> ModelVersionInfo | None:
        return self._alias_version(ticker, alias)

    def alias_versions(self, tickers: Sequence[str], alias: str) -> list[ModelVersionInfo]:
        found = (self.alias_version(t, alias) for t in tickers)
        return [info for info in found if info is not None]

    def champion(self, ticker: str, alias: str = "champion") -> Champion | None:
        info = self.alias_version(ticker, alias)
        return None if info is None else Champion(self.load_version(ticker, info.version), info)

    def load_spec(self, ticker: str, alias: str = "champion") -> tuple[ModelSpec, ModelVersionInfo]:
        """The spec and version behind `alias`.

        Raises:
            ModelNotFound: No such model or alias.
        """
        champion = self.champion(ticker, alias)
        if champion is None:
            raise ModelNotFound(
                f"no {alias!r} model for {ticker} ({model_name(ticker)}): "
                f"run `stocky train --ticker {ticker}`"
            )
        return champion.spec, champion.info

    def load_version(self, ticker: str, version: int) -> ModelSpec:
        name = model_name(ticker)
        model = self._models.get(name)
        if model is None or not 1 <= version <= len(model.specs):
            raise RegistryError(f"loading {name} v{version} failed: no such version")
        return model.specs[version - 1]

    def versions(self, ticker: str) -> list[ModelVersionInfo]:
        model = self._models.get(model_name(ticker))
        if model is None:
            return []
        return [self._as_read(ticker, model, v) for v in reversed(model.versions)]

    def find_version(self, ticker: str, tag: str, value: str) -> ModelVersionInfo | None:
        name = model_name(ticker)
        for text in (name, tag, value):
            if "'" in text or "`" in text:
                raise BadInput(f"{text!r} contains a quote: registry searches cannot take it")
        model = self._models.get(name)
        found = [v for v in model.versions if v.tags.get(tag) == value] if model else []
        return self._as_read(ticker, model, found[-1]) if model and found else None

    def aliases(self, ticker: str) -> dict[str, int]:
        model = self._models.get(model_name(ticker))
        return dict(model.aliases) if model is not None else {}

    def tickers(self) -> list[str]:
        return sorted(m.ticker for m in self._models.values())

    def champion_versions(self, alias: str = "champion") -> list[ModelVersionInfo]:
        found = (
            self._as_read(m.ticker, m, m.versions[m.aliases[alias] - 1])
            for m in self._models.values()
            if alias in m.aliases
        )
        return sorted(found, key=lambda i: i.ticker)

    def aliased_versions(self) -> list[ModelVersionInfo]:
        return [v for t in self.tickers() for v in self.versions(t) if v.aliases]

    def alias_map(self, alias: str = "champion") -> dict[str, int]:
        return {
            m.ticker: m.aliases[alias]
            for m in sorted(self._models.values(), key=lambda m: m.ticker)
            if alias in m.aliases
        }

    def _alias_version(self, ticker: str, alias: str) -> ModelVersionInfo | None:
        model = self._models.get(model_name(ticker))
        if model is None or alias not in model.aliases:
            return None
        return self._as_read(ticker, model, model.versions[model.aliases[alias] - 1])

    @staticmethod
    def _as_read(ticker: str, model: _Model, info: ModelVersionInfo) -> ModelVersionInfo:
        """A version as a read returns it: the ticker asked about and its current aliases."""
        names = tuple(sorted(a for a, v in model.aliases.items() if v == info.version))
        return dataclasses.replace(info, ticker=ticker, aliases=names)

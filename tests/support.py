"""Helpers shared by test modules (importable as `support`, tests/ is on pythonpath)."""

from __future__ import annotations

import datetime as dt
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pandas as pd

from stocky.adapters.prices.bundled import BundledSource
from stocky.adapters.registry import ModelRegistry
from stocky.adapters.store import PriceRepository, create_schema, make_engine
from stocky.config import Settings
from stocky.pipelines.train import TrainConfig, TrainResult, train_ticker

FAST_TRAIN = TrainConfig(
    order="0,1,1", test_size=60, validation_size=30, train_window=500, min_train_size=100
)
TRAINED_AT = dt.datetime(2019, 1, 2, 22, 0, tzinfo=dt.UTC)


def make_settings(home: Path, **overrides: object) -> Settings:
    """Settings for a private home with the bundled source and no reload polling."""
    values: dict[str, object] = {
        "home": home,
        "price_source": "bundled",
        "reload_interval_seconds": 0,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


def registry_for(settings: Settings) -> ModelRegistry:
    return ModelRegistry(
        tracking_uri=settings.tracking_uri,
        experiment=settings.mlflow_experiment,
        artifact_root=settings.artifact_root,
    )


def train_into(
    settings: Settings,
    ticker: str = "^GSPC",
    config: TrainConfig = FAST_TRAIN,
    *,
    last: int = 1000,
) -> TrainResult:
    """Store bundled prices for `ticker` and train it on the `last` closes into the settings'
    registry (the same training twice publishes once: vary `last` for a new version)."""
    settings.ensure_home()
    engine = make_engine(settings.db_url)
    create_schema(engine)
    repo = PriceRepository(engine)
    source = BundledSource()
    frame = source.fetch(ticker)
    repo.upsert(ticker, frame, source="bundled", fetched_at=TRAINED_AT)
    engine.dispose()
    recent = frame.iloc[-last:].reset_index(drop=True)
    return train_ticker(
        ticker=ticker,
        prices=recent,
        source="bundled",
        registry=registry_for(settings),
        config=config,
        now=TRAINED_AT,
    )


def gspc_tail(n: int) -> list[float]:
    import arch.data.sp500

    close: pd.Series = arch.data.sp500.load()["Close"]
    return [float(x) for x in close.iloc[-n:]]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(base: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise AssertionError(f"server exited with {proc.returncode}:\n{out}")
        try:
            if httpx.get(f"{base}/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.2)
    raise AssertionError(f"server at {base} not healthy after {timeout} s")

"""The fleet overview's cost as the fleet grows: facts (five statements), rows, the HTML page.

A SYNTHETIC fleet (tests/synthetic_fleet.py: one year of daily predictions, prices and a drift
check per ticker, no model trained) is written to a throwaway SQLite file per size; then
`GET /monitoring/fleet` is timed cold (the queries) and cached, and `GET /dashboard` on the
cached snapshot (its summary's drift-check history read once per snapshot, rendering the
summary, the chips and every row included).

    python bench/bench_fleet_view.py [--sizes 100 1000] [--sessions 250] [--check-sessions 21]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fastapi.testclient import TestClient  # noqa: E402

from stocky.adapters.store import create_schema, make_engine  # noqa: E402
from stocky.adapters.store.fleet import FleetRepository  # noqa: E402
from stocky.api.app import create_app  # noqa: E402
from stocky.config import Settings  # noqa: E402
from stocky.pipelines.fleet_view import FLEET_WINDOW, lookback_days  # noqa: E402
from stocky.runtime import limit_blas_threads  # noqa: E402
from synthetic_fleet import NOW, fill  # noqa: E402


class NoModels:
    def tickers(self) -> list[str]:
        return []

    def champion_versions(self, alias: str = "champion") -> list[object]:
        return []

    def versions(self, ticker: str) -> list[object]:
        return []


def _ms(seconds: list[float]) -> str:
    return f"{statistics.median(seconds) * 1000:7.0f} ms"


def run(n: int, sessions: int, folder: Path, check_sessions: int = 1) -> tuple[str, ...]:
    home = folder / f"fleet-{n}"
    home.mkdir()
    engine = make_engine(f"sqlite:///{home / 'stocky.db'}")
    create_schema(engine)
    fill(engine, n, days=sessions, check_sessions=check_sessions)
    repo = FleetRepository(engine)
    facts = []
    for _ in range(3):
        t0 = time.perf_counter()
        repo.facts(window=FLEET_WINDOW, lookback_days=lookback_days(FLEET_WINDOW), extra=[])
        facts.append(time.perf_counter() - t0)
    engine.dispose()
    settings = Settings(home=home, price_source="bundled", reload_interval_seconds=0)
    app = create_app(settings, clock=lambda: NOW, registry=NoModels())  # type: ignore[arg-type]
    cold, cached, page = [], [], []
    with TestClient(app) as client:
        for _ in range(3):
            app.state.fleet_cache = None  # type: ignore[attr-defined]
            t0 = time.perf_counter()
            assert client.get("/monitoring/fleet?limit=100").status_code == 200
            cold.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            assert client.get("/monitoring/fleet?limit=100&offset=100").status_code == 200
            cached.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            assert client.get("/dashboard").status_code == 200
            page.append(time.perf_counter() - t0)
    rows = n * sessions
    return (f"{n:>6,}", f"{rows:>9,}", _ms(facts), _ms(cold), _ms(cached), _ms(page))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--sessions", type=int, default=250)
    parser.add_argument(
        "--check-sessions", type=int, default=1, help="drift checks per ticker (latest sessions)"
    )
    args = parser.parse_args()
    limit_blas_threads()
    header = ("tickers", "log rows", "facts", "fleet cold", "fleet cached", "dashboard")
    print("  ".join(f"{h:>12}" for h in header))
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            row = run(n, args.sessions, Path(tmp), args.check_sessions)
            print("  ".join(f"{c:>12}" for c in row), flush=True)
    print("medians of 3; SYNTHETIC data; 'dashboard' reuses the cached snapshot")


if __name__ == "__main__":
    main()

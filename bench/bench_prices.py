"""Load a synthetic universe into a fresh SQLite price store and print how long each step took.

    python bench/bench_prices.py [--tickers 1000] [--sessions 1000]

Steps: generate the synthetic prices (labelled synthetic), store them with one set-based
`store_many` (one transaction, chunked executemany), read one ticker back, and replace one
ticker's rows. Prints wall and CPU seconds (on a shared machine the CPU time is the cost, the
wall time also counts waiting for a core) and rows/s; no timed assertions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from stocky.runtime import limit_blas_threads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickers", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=1000)
    args = parser.parse_args()
    limit_blas_threads()

    from stocky.adapters.prices.synthetic import SyntheticSource
    from stocky.adapters.store import PriceRepository, create_schema, make_engine

    now = dt.datetime(2024, 12, 31, 22, tzinfo=dt.UTC)
    source = SyntheticSource(tickers=args.tickers, sessions=args.sessions, seed=7)
    source.describe()  # build the exchange calendar outside the timed part
    t0, c0 = time.perf_counter(), time.process_time()
    frames = source.fetch_many(source.tickers())
    t_gen, c_gen = time.perf_counter() - t0, time.process_time() - c0
    rows = sum(len(f) for f in frames.values())
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        create_schema(engine)
        repo = PriceRepository(engine)
        t0, c0 = time.perf_counter(), time.process_time()
        written = repo.store_many(frames, source=source.name, fetched_at=now)
        t_store, c_store = time.perf_counter() - t0, time.process_time() - c0
        first = source.tickers()[0]
        t0 = time.perf_counter()
        loaded = repo.load(first)
        t_load = time.perf_counter() - t0
        t0 = time.perf_counter()
        repo.replace(first, frames[first], source=source.name, fetched_at=now)
        t_replace = time.perf_counter() - t0
        engine.dispose()
    assert written == rows and len(loaded) == args.sessions
    print(f"synthetic universe: {args.tickers} tickers x {args.sessions} sessions = {rows:,} rows")
    print(f"  generate (numpy)          {t_gen:7.2f} s wall {c_gen:7.2f} s CPU")
    print(
        f"  store_many into SQLite    {t_store:7.2f} s wall {c_store:7.2f} s CPU  "
        f"({rows / t_store:,.0f} rows/s wall)"
    )
    print(f"  load one ticker           {t_load * 1000:7.1f} ms")
    print(f"  replace one ticker        {t_replace * 1000:7.1f} ms")


if __name__ == "__main__":
    main()

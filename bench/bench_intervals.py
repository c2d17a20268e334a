"""Interval methods side by side: coverage and interval score per method, series and year.

Run with ``python bench/bench_intervals.py`` (``--tickers ^GSPC`` for one series). On each of
the 7 bundled real series (offline), every calendar year with enough history before it is a
test period: the model (the random walk by default, ``--families`` to let training choose)
is chosen and its interval method scored on the 126 sessions before the year, fitted on the
1,260 before those, then walked through the year with fixed parameters, each forecast and
interval from the 60 prices before it (what the server sees). This is `stocky train`'s own
`evaluate`, run once per fixed method (ewma, garch, conformal) and once with
STOCKY_INTERVAL=auto, which picks per series and year the lowest validation interval score.

FB has 196 sessions: it runs with a 100-price fit, a 40-session validation and the rest as
its one test period (GARCH needs 250 returns, so auto chooses between ewma and conformal).

Interval score (Winkler, 95%): width + 40 x distance outside; lower is better. Goals: the
auto-chosen method's coverage over all test years within 95% +- 1.5 points on each series,
and its mean interval score no worse than EWMA's on at least 5 of the 7.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time
import warnings

import numpy as np

METHODS = ("ewma", "garch", "conformal", "auto")
TRAIN_WINDOW = 1260
VALIDATION = 126
WINDOW = 60
BAND = (0.935, 0.965)


def periods(dates, n_before: int) -> list[tuple[int, int, str]]:
    """(end, length, label) of every calendar year with `n_before` sessions before it."""
    years = dates.dt.year.to_numpy()
    out = []
    for year in np.unique(years):
        idx = np.flatnonzero(years == year)
        if idx[0] >= n_before and idx.size >= 100:
            out.append((int(idx[-1]) + 1, int(idx.size), str(year)))
    return out


def _pct(x: float, width: int) -> str:
    return f"{'n/a':>{width}}" if np.isnan(x) else f"{x:>{width}.1%}"


def _num(x: float, width: int) -> str:
    return f"{'n/a':>{width}}" if np.isnan(x) else f"{x:>{width}.4g}"


def main() -> None:
    from stocky.runtime import limit_blas_threads

    limit_blas_threads(1)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickers", default="", help="comma-separated (default: all bundled)")
    parser.add_argument("--families", default="naive", help="candidate families (naive,arima..)")
    args = parser.parse_args()

    from stocky.adapters.prices.bundled import BUNDLED_TICKERS, BundledSource
    from stocky.core.intervals.score import interval_scores
    from stocky.errors import StockyError
    from stocky.pipelines.train import TrainConfig, evaluate

    tickers = [t for t in args.tickers.split(",") if t] or list(BUNDLED_TICKERS)
    families = tuple(f for f in args.families.split(",") if f)
    print("== interval methods: 95% intervals on the bundled real series, one year at a time")
    print(f"command: python bench/bench_intervals.py --families {args.families}")
    print(f"python {platform.python_version()}, cpu_count={os.cpu_count()}")
    print(
        f"families {','.join(families)}; methods fitted on {TRAIN_WINDOW} sessions, scored on "
        f"{VALIDATION} validation sessions; {WINDOW} prices per served interval"
    )
    source = BundledSource()
    summary = []
    started = time.perf_counter()
    for ticker in tickers:
        frame = source.fetch(ticker)
        close = frame["close"].to_numpy(dtype=float)
        base = TrainConfig(
            families=families,
            validation_size=VALIDATION,
            train_window=TRAIN_WINDOW,
            min_train_size=TRAIN_WINDOW,
            interval_window=WINDOW,
        )
        spans = periods(frame["date"], TRAIN_WINDOW + VALIDATION)
        if not spans:  # FB: one short test period
            base = dataclasses.replace(
                base, validation_size=40, train_window=100, min_train_size=100
            )
            spans = [(len(close), len(close) - 140, "2012+")]
        print()
        print(f"-- {ticker}: {len(spans)} test periods")
        print(
            f"{'year':<6}{'n':>5}{'auto picks':>12}"
            + "".join(f"{m + ' cov':>15}" for m in METHODS)
            + "".join(f"{m + ' IS':>14}" for m in METHODS)
        )
        hits: dict[str, list[np.ndarray]] = {m: [] for m in METHODS}
        scores: dict[str, list[np.ndarray]] = {m: [] for m in METHODS}
        picks = []
        for end, length, label in spans:
            row_cov, row_is = {}, {}
            for method in METHODS:
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        ev = evaluate(
                            close[:end],
                            dataclasses.replace(base, test_size=length, interval=method),
                        )
                except StockyError:  # garch on FB's 100 prices: too few returns to fit
                    row_cov[method] = row_is[method] = float("nan")
                    continue
                w = ev.walk
                hit = (w.actual >= w.lower) & (w.actual <= w.upper)
                s = interval_scores(w.actual, w.lower, w.upper)
                hits[method].append(hit)
                scores[method].append(s)
                row_cov[method], row_is[method] = hit.mean(), s.mean()
                if method == "auto":
                    picks.append(ev.interval)
            print(
                f"{label:<6}{length:>5}{picks[-1]:>12}"
                + "".join(_pct(row_cov[m], 15) for m in METHODS)
                + "".join(_num(row_is[m], 14) for m in METHODS)
            )
        cov = {m: float(np.concatenate(hits[m]).mean()) if hits[m] else np.nan for m in METHODS}
        mis = {m: float(np.concatenate(scores[m]).mean()) if scores[m] else np.nan for m in METHODS}
        print(
            f"{'all':<6}{sum(s[1] for s in spans):>5}{'':>12}"
            + "".join(_pct(cov[m], 15) for m in METHODS)
            + "".join(_num(mis[m], 14) for m in METHODS)
        )
        summary.append((ticker, cov, mis, picks))
    print()
    print("== summary: test-period coverage and mean interval score, auto vs ewma")
    print(
        f"{'ticker':<8}{'auto cov':>10}{'in band':>9}{'auto IS / ewma IS':>19}{'<= ewma':>9}"
        "  auto picks"
    )
    in_band = not_worse = 0
    for ticker, cov, mis, picks in summary:
        ok_band = BAND[0] <= cov["auto"] <= BAND[1]
        ok_is = mis["auto"] <= mis["ewma"]
        in_band += ok_band
        not_worse += ok_is
        counts = ", ".join(f"{m} {picks.count(m)}" for m in ("ewma", "garch", "conformal"))
        print(
            f"{ticker:<8}{cov['auto']:>10.1%}{'yes' if ok_band else 'NO':>9}"
            f"{mis['auto'] / mis['ewma']:>19.4f}{'yes' if ok_is else 'NO':>9}  {counts}"
        )
    print()
    print(
        f"goals: coverage within {BAND[0]:.1%}-{BAND[1]:.1%} on {in_band}/{len(summary)} series "
        f"(goal: all); interval score <= ewma's on {not_worse}/{len(summary)} (goal: >= 5 of 7)"
    )
    print(f"elapsed {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()

"""Interval calibration: how often the 95% interval held the next close, year by year.

Run with ``make bench`` (or ``python bench/bench_intervals.py``). For every year from 2003 to
2018 of S&P 500 closes (arch.data.sp500, offline), ARIMA(0,1,1) is fitted on the three years
before it and walked forward through the year with fixed parameters. Each session's interval
is sized two ways side by side: the model's constant one-step variance, and the EWMA (decay
0.94) of the 60 prices before it times a scale calibrated on the three training years (fat
tails), which is what `stocky serve` uses by default (STOCKY_INTERVAL=ewma).
"""

from __future__ import annotations

import argparse
import os
import platform
import warnings

import numpy as np

ORDER = (0, 1, 1)
TRAIN_WINDOW = 756  # three years of sessions
WINDOW = 60  # prices per forecast, the API's maximum
TARGET = (0.92, 0.98)  # a year's coverage counts as calibrated inside this band


def main() -> None:
    from stocky.runtime import limit_blas_threads

    limit_blas_threads(1)
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    import arch.data.sp500

    from stocky.core.arima import ArimaOrder
    from stocky.core.backtest import walk_forward

    frame = arch.data.sp500.load()
    close = frame["Close"].to_numpy(dtype=float)
    years = frame.index.year
    print("== interval calibration: 95% intervals, S&P 500 closes, one year at a time")
    print("command: python bench/bench_intervals.py")
    print(f"python {platform.python_version()}, cpu_count={os.cpu_count()}")
    print(
        f"ARIMA{ORDER} fitted on the {TRAIN_WINDOW} sessions before each year; EWMA over {WINDOW} prices"
    )
    print()
    print(
        f"{'year':<6}{'sessions':>9}{'model cover':>13}{'ewma cover':>12}{'model width':>13}"
        f"{'ewma width':>12}{'ewma scale':>12}"
    )
    inside = {"model": [], "ewma": []}
    calibrated = {"model": 0, "ewma": 0}
    span = range(2003, 2019)
    for year in span:
        end = int(np.flatnonzero(years == year)[-1]) + 1
        test = int((years == year).sum())
        row = {}
        for method in ("model", "ewma"):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                walk = walk_forward(
                    close[:end],
                    order=ArimaOrder(*ORDER),
                    test_size=test,
                    train_window=TRAIN_WINDOW,
                    interval=method,
                    interval_window=WINDOW,
                )
            hit = (walk.actual >= walk.lower) & (walk.actual <= walk.upper)
            inside[method].append(hit)
            width = float(np.mean(walk.upper - walk.lower))
            row[method] = (float(np.mean(hit)), width, walk.interval_scale)
            calibrated[method] += TARGET[0] <= row[method][0] <= TARGET[1]
        print(
            f"{year:<6}{test:>9}{row['model'][0]:>13.1%}{row['ewma'][0]:>12.1%}"
            f"{row['model'][1]:>13.1f}{row['ewma'][1]:>12.1f}{row['ewma'][2]:>12.3f}"
        )
    every = {m: float(np.mean(np.concatenate(v))) for m, v in inside.items()}
    print()
    print(f"all years: model {every['model']:.1%}, ewma {every['ewma']:.1%} (nominal 95%)")
    print(
        f"years within {TARGET[0]:.0%}-{TARGET[1]:.0%}: model {calibrated['model']}/{len(span)}, "
        f"ewma {calibrated['ewma']}/{len(span)}"
    )


if __name__ == "__main__":
    main()

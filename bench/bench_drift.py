"""Drift detectors: false alarms with no change, delay after a change, alarms on real closes.

Run with ``make bench`` (or ``python bench/bench_drift.py --quick``). Every simulated series is
SYNTHETIC and seeded: 500 training sessions (the champion is fitted there and the baselines
measured), then monitored sessions. The champion is an AR(1) on daily returns fitted by least
squares on the training sessions (so on a random walk it is close to, not exactly, naive); its
95% interval is sized like stocky's (`core/volatility.py`): an EWMA (decay 0.94) of squared
price changes, times a scale calibrated on the training sessions.

Scenarios:
  rw        constant 1% daily volatility random walk, no change (false alarms)
  garch     GARCH(1,1) with Student-t shocks fitted with `arch` on the bundled S&P 500 closes
            (arch.data.sp500), simulated; no change (false alarms)
  AR, AR+   returns AR(1) phi=+0.3 / +0.5 (the champion beats naive by ~4.6% / ~13%), no
            change (false alarms of the skill detectors where skill is noisy)
  vol x2/x3 random walk whose volatility doubles / triples at the change (delay; a
            "model degraded" alarm here is a wrong call)
  AR lost   returns AR(1) phi=+0.3, then a random walk (skill vs naive +4.6% -> -4.4%)
  AR flip   returns AR(1) phi=+0.3, then phi=-0.3 (skill -> -12.7%)
  AR flip+  returns AR(1) phi=+0.5, then phi=-0.5 (skill +13% -> -32%)
  wide x2   random walk, no change in the market; the champion's intervals become twice as
            wide (a distribution degraded that coverage cannot see)
  narrow/2  random walk; the champion's intervals become half as wide (coverage ~68%)
Real: S&P 500 closes 1999-2018, the first three years to fit, then the random walk and an
ARIMA(0,1,1) walked forward with fixed parameters and stocky's EWMA intervals.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.signal import lfilter

TRAIN = 500  # sessions before monitoring starts
CHANGE_AT = 250  # monitored sessions before a change
AFTER = 250  # monitored sessions after a change (the delay horizon)
NO_CHANGE = 1000  # monitored sessions of a no-change series
DECAY = 0.94
Z95 = 1.959963984540054


@dataclass(frozen=True)
class Batch:
    """Monitored labeled arrays of many series (rows), with per-series baselines."""

    actual: np.ndarray
    prediction: np.ndarray
    naive: np.ndarray
    lower: np.ndarray
    upper: np.ndarray
    rmse: np.ndarray  # champion's training RMSE (price units)
    return_rmse: np.ndarray  # champion's training return RMSE
    naive_return_rmse: np.ndarray  # naive's training return RMSE (the typical move)
    change: int | None  # monitored session of the change
    interval_score: np.ndarray  # champion's training mean interval score over the last close


def _prices_to_batch(returns: np.ndarray, change: int | None) -> Batch:
    """Log returns -> prices; fit the AR(1) champion and size the EWMA intervals, row by row, vectorised."""
    prices = 100.0 * np.exp(np.cumsum(returns, axis=1))
    r_prev, r_now = returns[:, : TRAIN - 1], returns[:, 1:TRAIN]
    phi = (r_prev * r_now).sum(1) / (r_prev * r_prev).sum(1)
    # Session t (t >= 2) is forecast from the close and the return of session t - 1.
    naive = prices[:, 1:-1]
    pred = naive * np.exp(phi[:, None] * returns[:, 1:-1])
    actual = prices[:, 2:]
    moves = np.diff(prices, axis=1)  # moves[:, i] is the move into session i + 1
    # EWMA variance of the moves before each session, started at the first 20 moves' mean.
    var0 = np.mean(moves[:, :20] ** 2, axis=1)
    sq = moves[:, :-1] ** 2
    zi = (DECAY * var0)[:, None]
    ewma = lfilter([1.0 - DECAY], [1.0, -DECAY], sq, axis=1, zi=zi)[0]
    sigma = np.sqrt(ewma)  # sigma[:, j] is known before actual[:, j]
    fit = slice(20, TRAIN - 2)
    ratio = np.abs(actual[:, fit] - naive[:, fit]) / sigma[:, fit]
    scale = np.quantile(ratio, 0.95, axis=1) / Z95
    half = Z95 * scale[:, None] * sigma
    err = actual - pred
    rmse = np.sqrt(np.mean(err[:, fit] ** 2, axis=1))
    ret_rmse = np.sqrt(np.mean((err[:, fit] / naive[:, fit]) ** 2, axis=1))
    moved = actual[:, fit] / naive[:, fit] - 1.0
    naive_ret = np.sqrt(np.mean(moved**2, axis=1))
    lo, hi, y = (pred - half)[:, fit], (pred + half)[:, fit], actual[:, fit]
    winkler = (hi - lo) + 40.0 * (np.maximum(lo - y, 0.0) + np.maximum(y - hi, 0.0))
    ret_is = np.mean(winkler / naive[:, fit], axis=1)
    mon = slice(TRAIN - 2, None)
    return Batch(
        actual[:, mon], pred[:, mon], naive[:, mon], pred[:, mon] - half[:, mon],
        pred[:, mon] + half[:, mon], rmse, ret_rmse, naive_ret, change, ret_is,
    )  # fmt: skip


def _resized(batch: Batch, factor: float, change: int) -> Batch:
    """The same series with the champion's half-widths times `factor` from `change` on."""
    half = (batch.upper - batch.lower) / 2.0
    half[:, change:] *= factor
    return dataclasses.replace(
        batch, lower=batch.prediction - half, upper=batch.prediction + half, change=change
    )


def _ar_returns(rng: np.random.Generator, n: int, length: int, phis: list[tuple[int, float]],
                vols: list[tuple[int, float]]) -> np.ndarray:  # fmt: skip
    """AR(1) returns whose phi and shock sd change at the given sessions."""
    phi = np.zeros(length)
    sd = np.zeros(length)
    for start, value in phis:
        phi[start:] = value
    for start, value in vols:
        sd[start:] = value
    shocks = rng.standard_normal((n, length)) * sd
    out = np.zeros((n, length))
    for t in range(1, length):
        out[:, t] = phi[t] * out[:, t - 1] + shocks[:, t]
    return out


def _garch_params() -> tuple[float, float, float, float, float, float]:
    import arch.data.sp500
    from arch import arch_model

    close = arch.data.sp500.load()["Close"]
    r = 100.0 * close.pct_change().dropna()
    res = arch_model(r, mean="Constant", vol="GARCH", p=1, q=1, dist="t").fit(disp="off")
    p = res.params
    return (float(p["mu"]), float(p["omega"]), float(p["alpha[1]"]), float(p["beta[1]"]),
            float(p["nu"]), float(r.var()))  # fmt: skip


def _garch_returns(rng: np.random.Generator, n: int, length: int, params: tuple) -> np.ndarray:
    mu, omega, alpha, beta, nu, var0 = params
    z = rng.standard_t(nu, (n, length)) * np.sqrt((nu - 2.0) / nu)
    out = np.empty((n, length))
    var = np.full(n, var0)
    eps = np.zeros(n)
    for t in range(length):
        var = omega + alpha * eps * eps + beta * var
        eps = np.sqrt(var) * z[:, t]
        out[:, t] = mu + eps
    return out / 100.0


def scenarios(n: int, seed: int) -> dict[str, Batch]:
    rng = np.random.default_rng(seed)
    flat = TRAIN + NO_CHANGE
    change = TRAIN + CHANGE_AT
    moved = change + AFTER
    sd03, sd05 = 0.01 * np.sqrt(1 - 0.09), 0.01 * np.sqrt(1 - 0.25)  # returns' sd 1%
    garch = _garch_params()
    out = {
        "rw": _prices_to_batch(_ar_returns(rng, n, flat, [], [(0, 0.01)]), None),
        "garch": _prices_to_batch(_garch_returns(rng, n, flat, garch), None),
        "AR": _prices_to_batch(_ar_returns(rng, n, flat, [(0, 0.3)], [(0, sd03)]), None),
        "AR+": _prices_to_batch(_ar_returns(rng, n, flat, [(0, 0.5)], [(0, sd05)]), None),
        "vol x2": _prices_to_batch(
            _ar_returns(rng, n, moved, [], [(0, 0.01), (change, 0.02)]), CHANGE_AT
        ),
        "vol x3": _prices_to_batch(
            _ar_returns(rng, n, moved, [], [(0, 0.01), (change, 0.03)]), CHANGE_AT
        ),
        "AR lost": _prices_to_batch(
            _ar_returns(rng, n, moved, [(0, 0.3), (change, 0.0)], [(0, sd03), (change, 0.01)]),
            CHANGE_AT,
        ),
        "AR flip": _prices_to_batch(
            _ar_returns(rng, n, moved, [(0, 0.3), (change, -0.3)], [(0, sd03)]), CHANGE_AT
        ),
        "AR flip+": _prices_to_batch(
            _ar_returns(rng, n, moved, [(0, 0.5), (change, -0.5)], [(0, sd05)]), CHANGE_AT
        ),
    }
    # drawn after the others, so that their series (and figures) are unchanged
    for name, factor in (("wide x2", 2.0), ("narrow/2", 0.5)):
        flat_walk = _prices_to_batch(_ar_returns(rng, n, moved, [], [(0, 0.01)]), None)
        out[name] = _resized(flat_walk, factor, CHANGE_AT)
    return out


Detector = Callable[[Batch, int], np.ndarray]


def _args(b: Batch, i: int) -> tuple[np.ndarray, ...]:
    return b.actual[i], b.prediction[i], b.naive[i], b.lower[i], b.upper[i]


def detectors() -> list[tuple[str, str, Detector]]:
    """(detector, settings, function of a batch row -> flags), the defaults marked *."""
    from stocky.core import detectors as d
    from stocky.core.assessment import AssessmentConfig, StatePath, state_path

    out: list[tuple[str, str, Detector]] = []

    def add(name: str, label: str, fn: Detector) -> None:
        out.append((name, label, fn))

    for w, m, c in ((14, 1.5, 3), (20, 2.0, 5)):
        add("rolling_rmse", f"w={w} x{m} {c} in a row" + (" (seed)" if w == 14 else ""),
            lambda b, i, w=w, m=m, c=c: d.rolling_rmse(
                *_args(b, i), baseline=b.rmse[i], window=w, multiplier=m, consecutive=c).flags)  # fmt: skip
    for w, m, c in ((14, 1.5, 3), (20, 1.5, 3), (20, 2.0, 5)):
        add("return_rmse", f"w={w} x{m} {c} in a row",
            lambda b, i, w=w, m=m, c=c: d.return_rmse(
                *_args(b, i), baseline=b.return_rmse[i], window=w, multiplier=m,
                consecutive=c).flags)  # fmt: skip
    for k, h in ((0.5, 5.0), (0.5, 10.0), (1.0, 15.0)):
        add("cusum_standardized", f"k={k} h={h}" + ("*" if h == 10.0 else ""),
            lambda b, i, k=k, h=h: d.cusum_standardized(*_args(b, i), k=k, h=h).flags)  # fmt: skip
    for w, t, c in ((10, -0.1, 1), (20, -0.1, 1), (20, -0.2, 2)):
        add("skill_drop", f"w={w} <{t:+.0%} {c} in a row",
            lambda b, i, w=w, t=t, c=c: d.skill_drop(
                *_args(b, i), window=w, threshold=t, consecutive=c).flags)  # fmt: skip
    for k, h in ((0.1, 2.0), (0.15, 4.5), (0.2, 5.0), (0.25, 5.0)):
        add("cusum_skill", f"k={k} h={h}" + ("*" if k == 0.15 else ""),
            lambda b, i, k=k, h=h: d.cusum_skill(*_args(b, i), k=k, h=h).flags)  # fmt: skip
    for w, a in ((40, 0.01), (40, 0.001), (60, 0.001)):
        add("coverage_drop", f"w={w} p<{a}",
            lambda b, i, w=w, a=a: d.coverage_drop(*_args(b, i), window=w, alpha=a).flags)  # fmt: skip
    for k, h, c in ((0.25, 8.0, 4.0), (0.25, 12.0, 4.0), (0.25, 12.0, 8.0), (0.25, 16.0, 8.0)):
        add("cusum_interval_score", f"k={k} h={h} cap={c:g}" + ("*" if (h, c) == (8.0, 4.0) else ""),
            lambda b, i, k=k, h=h, c=c: d.cusum_interval_score(
                *_args(b, i), baseline=b.interval_score[i], k=k, h=h, clip=c).flags)  # fmt: skip
    config = AssessmentConfig()

    def path(b: Batch, i: int) -> StatePath:
        return state_path(
            *_args(b, i), config=config, baseline_return_rmse=b.naive_return_rmse[i],
            baseline_interval_score=b.interval_score[i],
        )  # fmt: skip

    add("state: model_degraded", "defaults*", lambda b, i: path(b, i).model_degraded)
    add("state: volatility_changed", "defaults*", lambda b, i: path(b, i).volatility_changed)
    add("state: interval_degraded", "defaults*", lambda b, i: path(b, i).interval_degraded)
    return out


def _onsets(flags: np.ndarray) -> int:
    return int(np.sum(flags & ~np.concatenate(([False], flags[:-1]))))


def _quantile(values: np.ndarray, q: float) -> float:
    """The q-quantile of delays without interpolating (undetected rows are inf)."""
    ordered = np.sort(values)
    return float(ordered[max(0, int(np.ceil(q * ordered.size)) - 1)])


def _fmt_delay(values: np.ndarray) -> str:
    med, p90 = _quantile(values, 0.5), _quantile(values, 0.9)
    cell = lambda v: f">{AFTER}" if not np.isfinite(v) else f"{v:.0f}"  # noqa: E731
    return f"{cell(med)}/{cell(p90)}"


def evaluate(fn: Detector, batch: Batch) -> str:
    rows = batch.actual.shape[0]
    if batch.change is None:
        alarms = sum(_onsets(fn(batch, i)) for i in range(rows))
        return f"{1000.0 * alarms / batch.actual.size:.2f}"
    delays = np.full(rows, np.inf)
    for i in range(rows):
        hit = np.flatnonzero(fn(batch, i)[batch.change :])
        if hit.size:
            delays[i] = hit[0] + 1
    return _fmt_delay(delays)


def real_batches() -> tuple[dict[str, Batch], float]:
    """S&P 500 1999-2018: the random walk and ARIMA(0,1,1) fitted once on the first 3 years."""
    import arch.data.sp500

    from stocky.core.arima import ArimaOrder
    from stocky.core.backtest import walk_forward
    from stocky.core.scores import expected_interval_score

    close = arch.data.sp500.load()["Close"].to_numpy(dtype=float)
    train = 756
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        walk = walk_forward(close, order=ArimaOrder(0, 1, 1), test_size=close.size - train,
                            train_window=train, interval="ewma", interval_window=60)  # fmt: skip
    moves = np.diff(close[:train])
    rmse = np.array([np.sqrt(np.mean(moves**2))])
    ret = np.array([np.sqrt(np.mean((moves / close[: train - 1]) ** 2))])
    half = (walk.upper - walk.lower) / 2.0
    row = lambda a: a[None, :]  # noqa: E731
    # no walk-forward on the training years here: the level of a calibrated normal interval
    # with the training moves' sd (what stocky falls back to for specs without the baseline)
    level = np.array([expected_interval_score(float(ret[0]))])
    batches = {
        "random walk": Batch(row(walk.actual), row(walk.naive), row(walk.naive),
                             row(walk.naive - half), row(walk.naive + half), rmse, ret, ret, None,
                             level),
        "ARIMA(0,1,1)": Batch(row(walk.actual), row(walk.mean), row(walk.naive),
                              row(walk.lower), row(walk.upper), rmse, ret, ret, None, level),
    }  # fmt: skip
    return batches, walk.actual.size / 252.0


def main() -> None:
    from stocky.runtime import limit_blas_threads

    limit_blas_threads(1)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="60 series per scenario, not 300")
    parser.add_argument("--series", type=int, default=0, help="series per scenario")
    parser.add_argument("--seed", type=int, default=2024)
    opts = parser.parse_args()
    n = opts.series or (60 if opts.quick else 300)
    t0 = time.perf_counter()
    sims = scenarios(n, opts.seed)
    real, years = real_batches()
    print("== drift detectors: SYNTHETIC seeded series, then real S&P 500 closes")
    print(f"command: python bench/bench_drift.py{' --quick' if opts.quick else ''}")
    print(f"python {platform.python_version()}, cpu_count={os.cpu_count()}, seed {opts.seed}")
    print(
        f"synthetic: {n} series per scenario, {TRAIN} training sessions each; no change: "
        f"{NO_CHANGE} monitored sessions ({n * NO_CHANGE:,} per scenario); change after "
        f"{CHANGE_AT} monitored sessions, delay horizon {AFTER}"
    )
    print(
        "false alarms: alarm onsets per 1,000 sessions; delay: median/p90 sessions after the change"
    )
    print(f"real: S&P 500 {years:.1f} years after 3 training years; alarm onsets per year")
    print()
    sims_order = ("rw", "garch", "AR", "AR+", "vol x2", "vol x3", "AR lost", "AR flip", "AR flip+",
                  "wide x2", "narrow/2")  # fmt: skip
    head = [*sims_order, "S&P RW", "S&P ARIMA"]
    print(f"{'':<50}{'false alarms / 1,000':^40}{'delay median/p90':^70}{'alarms/year':^20}")
    print(f"{'detector':<26}{'settings':<24}" + "".join(f"{h:>10}" for h in head))
    for name, label, fn in detectors():
        cells = [evaluate(fn, sims[k]) for k in sims_order]
        for batch in real.values():
            cells.append(f"{_onsets(fn(batch, 0)) / years:.2f}")
        print(f"{name:<26}{label:<24}" + "".join(f"{c:>10}" for c in cells))
    print("* defaults (stocky.core.assessment.AssessmentConfig); states: model_degraded is")
    print("  cusum_skill, volatility_changed is return_rmse w=20 x1.5 3 in a row on naive's errors")
    print("  against naive's training return RMSE, unless model_degraded (without a baseline:")
    print("  cusum_standardized on naive's errors); interval_degraded is cusum_interval_score")
    print("  against the champion's training interval score over the last close")
    print(f"wall {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()

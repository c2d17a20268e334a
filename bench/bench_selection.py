"""The honest choice among families on seeded universes: false champions and missed signals.

Run with ``python bench/bench_selection.py`` (``--n 20`` for a quick look). Every series is
SYNTHETIC and seeded, 1,300 sessions (5+ years) of log prices starting at 100:

  rw      pure random walk, 1% daily volatility: the random walk is the best forecast, so
          any non-naive champion is a false one (goal: <= 2% of them)
  ar1     log returns AR(1) with phi = 0.3 (best one-step skill vs naive ~4.6%)
  level   a random walk (1% daily) seen through 1% independent noise (a local level: best
          skill vs naive ~6.6%, by an ARIMA(0,1,1) / simple exponential smoothing)

Each series is split like a default training: the last `--test` sessions are the test period,
the `--validation` sessions before them the validation window, and `stocky.core.choose`
picks the champion on everything before the test period (candidates fitted before the
validation window). The champion, parameters fixed, is then walked over the test period and
its skill against naive (1 - RMSE / naive RMSE) reported; a naive champion scores 0.
Families: every one of --families that imports (ets/theta/drift when installed; the global
lightgbm needs a universe fit and is left out here).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections import Counter

import numpy as np

SESSIONS = 1300
KINDS = ("rw", "ar1", "level")


def simulate(kind: str, seed: int, n: int = SESSIONS) -> np.ndarray:
    """SYNTHETIC prices of one kind, seeded."""
    rng = np.random.default_rng([KINDS.index(kind), seed])
    if kind == "rw":
        log = np.cumsum(rng.normal(0.0, 0.01, n))
    elif kind == "ar1":
        e = rng.normal(0.0, 0.01, n)
        r = np.empty(n)
        r[0] = e[0]
        for t in range(1, n):
            r[t] = 0.3 * r[t - 1] + e[t]
        log = np.cumsum(r)
    else:
        log = np.cumsum(rng.normal(0.0, 0.01, n)) + rng.normal(0.0, 0.01, n)
    return 100.0 * np.exp(log)


def available(names: list[str]) -> list[str]:
    """The families among `names` that import here (and are not global)."""
    from stocky.core.families.registry import family_class
    from stocky.errors import BadInput

    ok = []
    for name in names:
        try:
            cls = family_class(name)
        except (BadInput, ImportError) as exc:
            print(f"  (family {name} left out: {type(exc).__name__}: {str(exc)[:80]})")
            continue
        if getattr(cls, "is_global", False):
            print(f"  (family {name} left out: global, needs a universe fit)")
            continue
        ok.append(name)
    return ok


def test_skill(choice, y: np.ndarray, test: int) -> float:
    start = len(y) - test
    if choice.model_type == "naive":
        return 0.0
    means, _ = choice.forecaster.one_step_path(y, start=start)
    rmse = float(np.sqrt(np.mean((y[start:] - means) ** 2)))
    naive = float(np.sqrt(np.mean(np.diff(y[start - 1 :]) ** 2)))
    return 1.0 - rmse / naive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="series per kind")
    parser.add_argument("--validation", type=int, default=126)
    parser.add_argument("--test", type=int, default=252)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--families", default="drift,arima,ets,theta")
    args = parser.parse_args()

    from stocky.core.choose import choose

    print(f"python {platform.python_version()}, {os.cpu_count()} cpus, BLAS threads "
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'default')}")  # fmt: skip
    families = available([f.strip() for f in args.families.split(",") if f.strip()])
    print(
        f"SYNTHETIC universes: {args.n} series per kind x {SESSIONS} sessions; validation "
        f"{args.validation}, test {args.test}, alpha {args.alpha}; families naive + "
        f"{', '.join(families) or 'none'}"
    )
    print(f"{'kind':6} {'non-naive':>10} {'winners':32} {'skill mean':>10} "
          f"{'champ mean':>10} {'champ min':>10} {'champ<0':>8} {'s/series':>8}")  # fmt: skip
    for kind in KINDS:
        wins: Counter[str] = Counter()
        labels: Counter[str] = Counter()
        skills, champ = [], []
        t0 = time.perf_counter()
        for seed in range(args.n):
            y = simulate(kind, seed)
            choice = choose(
                y[: -args.test],
                families=["naive", *families],
                validation_size=args.validation,
                alpha=args.alpha,
            )
            wins[choice.model_type] += 1
            labels[choice.label] += 1
            s = test_skill(choice, y, args.test)
            skills.append(s)
            if choice.model_type != "naive":
                champ.append(s)
        secs = (time.perf_counter() - t0) / args.n
        share = len(champ) / args.n
        top = ", ".join(f"{k} {v}" for k, v in wins.most_common(4))
        c_mean = f"{np.mean(champ):+.2%}" if champ else "-"
        c_min = f"{np.min(champ):+.2%}" if champ else "-"
        c_neg = f"{sum(s < 0 for s in champ)}" if champ else "-"
        print(f"{kind:6} {share:>10.1%} {top[:32]:32} {np.mean(skills):>+10.2%} "
              f"{c_mean:>10} {c_min:>10} {c_neg:>8} {secs:>8.2f}")  # fmt: skip
        print(f"{'':6} labels: {', '.join(f'{k} {v}' for k, v in labels.most_common(6))}")
    print("goals: rw non-naive <= 2%; ar1 and level non-naive >= 90%")


if __name__ == "__main__":
    main()

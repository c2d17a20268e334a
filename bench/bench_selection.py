"""The honest choice among families on seeded universes: false champions and missed signals.

Run with ``python bench/bench_selection.py`` (``--n 20`` for a quick look). Every series is
SYNTHETIC and seeded, 1,300 sessions (5+ years) of log prices starting at 100:

  rw      pure random walk, 1% daily volatility: the random walk is the best forecast, so
          any non-naive champion is a false one (goal: <= 2% of them)
  ar1     log returns AR(1) with phi = 0.3 (best one-step skill vs naive ~4.6%)
  level   a random walk (1% daily) seen through 1% independent noise (a local level: best
          skill vs naive ~6.6%, by an ARIMA(0,1,1) / simple exponential smoothing)

Each series goes through ``stocky.pipelines.train.evaluate`` exactly as `stocky train` runs it
(default TrainConfig but for the options below): the last `--test` sessions are the test
period, the `--validation` sessions before them the validation window; every family is fitted
before the validation window and walked over it as served (each forecast from the last
`--serve-window` prices, STOCKY_MAX_PRICES), and the choice keeps the random walk unless a
candidate beats it significantly (one-sided DM, Holm-corrected). The champion, parameters
fixed, is walked over the test period and its skill against naive (1 - RMSE / naive RMSE)
reported; a naive champion scores 0.

Families: --families (default every built-in). A global family (lightgbm) is fitted once per
universe by ``pipelines.global_models.fit_global_models``, as `stocky train --all` does: with
``--universe kind`` each kind's N series are one universe, with ``--universe mixed`` all 3N
series are one (of the kinds run: `--kinds`). `--validation` takes a comma list (e.g.
126,252,504): one block per size.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections import Counter
from typing import Any

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


def fit_globals(series: list[np.ndarray], config: Any) -> dict[str, dict[str, Any]]:
    """The global families of `config` fitted on one universe, per stage (as `stocky train`)."""
    from stocky.core.families.registry import family_class
    from stocky.pipelines.global_models import fit_global_models, global_families

    if not global_families(config.families):
        return {}
    closes = {f"S{i}": y for i, y in enumerate(series)}
    params = fit_global_models(
        closes,
        families=config.families,
        test_sizes=dict.fromkeys(closes, config.test_size),
        validation_size=config.validation_size,
        train_window=config.train_window,
    )
    return {
        family: {stage: family_class(family).from_params(p) for stage, p in stages.items()}
        for family, stages in params.items()
    }


def run_block(args: argparse.Namespace, validation: int) -> None:
    from stocky.pipelines.train import TrainConfig, evaluate

    config = TrainConfig(
        families=tuple(args.families.split(",")),
        alpha=args.alpha,
        test_size=args.test,
        validation_size=validation,
        interval_window=args.serve_window,
    )
    kinds = [k for k in KINDS if k in args.kinds.split(",")]
    universe = {kind: [simulate(kind, seed) for seed in range(args.n)] for kind in kinds}
    t0 = time.perf_counter()
    if args.universe == "mixed":
        shared = fit_globals([y for kind in kinds for y in universe[kind]], config)
        globals_ = dict.fromkeys(kinds, shared)
    else:
        globals_ = {kind: fit_globals(universe[kind], config) for kind in kinds}
    global_secs = time.perf_counter() - t0
    print(
        f"validation {validation}, test {args.test}, alpha {args.alpha}, served from the last "
        f"{args.serve_window} prices; families {', '.join(config.families)}; global fits "
        f"({args.universe} universe) {global_secs:.1f} s"
    )
    print(f"{'kind':6} {'non-naive':>10} {'winners':44} {'skill mean':>10} "
          f"{'champ mean':>10} {'champ min':>10} {'champ<0':>8} {'s/series':>8}")  # fmt: skip
    for kind in kinds:
        wins: Counter[str] = Counter()
        labels: Counter[str] = Counter()
        skills, champ = [], []
        t0 = time.perf_counter()
        for y in universe[kind]:
            ev = evaluate(y, config, global_models=globals_[kind])
            wins[ev.model_type] += 1
            labels[ev.label] += 1
            s = 0.0 if ev.model_type == "naive" else ev.scores.skill
            skills.append(s)
            if ev.model_type != "naive":
                champ.append(s)
        secs = (time.perf_counter() - t0) / args.n
        share = len(champ) / args.n
        top = ", ".join(f"{k} {v}" for k, v in wins.most_common())
        c_mean = f"{np.mean(champ):+.2%}" if champ else "-"
        c_min = f"{np.min(champ):+.2%}" if champ else "-"
        c_neg = f"{sum(s < 0 for s in champ)}" if champ else "-"
        print(f"{kind:6} {share:>10.1%} {top[:44]:44} {np.mean(skills):>+10.2%} "
              f"{c_mean:>10} {c_min:>10} {c_neg:>8} {secs:>8.2f}")  # fmt: skip
        print(f"{'':6} labels: {', '.join(f'{k} {v}' for k, v in labels.most_common(6))}")


def main() -> None:
    from stocky.core.families.registry import DEFAULT_FAMILIES

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60, help="series per kind")
    parser.add_argument("--validation", default="126", help="validation sizes, comma list")
    parser.add_argument("--test", type=int, default=252)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--serve-window", type=int, default=60, help="prices per forecast")
    parser.add_argument("--families", default=",".join(DEFAULT_FAMILIES))
    parser.add_argument("--universe", choices=("kind", "mixed"), default="kind")
    parser.add_argument("--kinds", default=",".join(KINDS), help="kinds to run, comma list")
    args = parser.parse_args()

    print(f"python {platform.python_version()}, {os.cpu_count()} cpus, BLAS threads "
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'default')}")  # fmt: skip
    print(f"SYNTHETIC universes: {args.n} series per kind x {SESSIONS} sessions")
    for validation in (int(v) for v in args.validation.split(",")):
        run_block(args, validation)
    print("goals: rw non-naive <= 2%; ar1 and level non-naive >= 90%")


if __name__ == "__main__":
    main()

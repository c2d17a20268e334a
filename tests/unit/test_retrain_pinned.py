"""Training and retraining give the same results as the recorded ones: a regression pin.

The expected values in `retrain_pinned.json` were recorded from the code as it was before the
training and retraining paths were made cheaper (redundant fits dropped, GARCH fitted with
exact constraint jacobians). They are not an independent reference: they pin what the code
chose and computed, so any change of a chosen family, interval method, parameter, metric or
promotion decision shows up here. Everything but floats is compared exactly; floats to 1e-3
relative or 1e-7 absolute: the values were recorded with one OpenBLAS kernel, and another
kernel moves the optimisers' results (statsmodels' ARIMA, arch's GARCH) in their last
converged digits (up to ~1e-5 relative, and 4e-8 on a GARCH mean of 3e-4, measured with
`OPENBLAS_CORETYPE` unset); the choices themselves must not move at all.

Scenarios, each run like a replay (a first champion, then retrains in date order on the
in-memory backend): a synthetic ticker with an explicit ARIMA order (rejections and promotions
under every interval method, a forced promotion, a fallback to the random walk), and the
real S&P 500 under ``order=auto`` and under an explicit order.

Regenerate (only when a result is meant to change, saying why in the commit):
``python tests/unit/test_retrain_pinned.py --record``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from stocky.config import Settings
from stocky.pipelines.retrain import retrain_ticker
from stocky.pipelines.train import train_ticker
from stocky.wiring import memory_stack

FIXTURE = Path(__file__).with_name("retrain_pinned.json")
REL = 1e-3
#: Floats near zero (a GARCH mean of 3e-4 moved 4e-8 by the kernel) compare absolutely.
ABS = 1e-7

#: name -> (source, ticker, order, first champion's session, retrain sessions); a session
#: suffixed "!force" is a forced retrain, "!fallback" one allowed to fall back to naive.
SCENARIOS: dict[str, tuple[str, str, str, str, tuple[str, ...]]] = {
    "synthetic-011": (
        "synthetic",
        "SYN0001",
        "0,1,1",
        "2019-01-02",
        (
            "2019-02-01",
            "2019-09-03",
            "2020-04-01",
            "2020-05-01",
            "2021-02-01",
            "2021-03-01!force",
            "2022-10-03",
            "2023-07-03",
            "2023-11-01!fallback",
            "2024-08-01",
            "2024-12-02",
        ),
    ),
    "gspc-auto": ("bundled", "^GSPC", "auto", "2007-01-03", ("2008-10-01", "2012-06-01")),
    "gspc-011": (
        "bundled",
        "^GSPC",
        "0,1,1",
        "2007-01-03",
        ("2008-10-01", "2009-03-02", "2011-08-01", "2015-09-01"),
    ),
}


def _plain(value: Any) -> Any:
    """JSON's view of `value` (tuples as lists, dates as strings)."""
    return json.loads(json.dumps(value, default=str))


def _clock(session: dt.date) -> dt.datetime:
    return dt.datetime.combine(session, dt.time(22), tzinfo=dt.UTC)


def run_scenario(name: str, home: Path) -> list[dict[str, Any]]:
    """Train and retrain as the scenario says; one record per step."""
    source, ticker, order, first, sessions = SCENARIOS[name]
    stack = memory_stack(Settings(home=home, price_source=source, order=order))  # type: ignore[call-arg]
    last = dt.date.fromisoformat(sessions[-1].split("!")[0])
    history = stack.source.fetch(ticker, None, last)
    start = dt.date.fromisoformat(first)
    trained = train_ticker(
        ticker=ticker,
        prices=history[history["date"] <= pd.Timestamp(start)].reset_index(drop=True),
        source=source,
        registry=stack.registry,
        config=stack.train,
        now=_clock(start),
    )
    steps: list[dict[str, Any]] = [
        {
            "step": f"train {first}",
            "spec": trained.spec.to_dict(),
            "scores": trained.scores.to_dict(),
            "reason": trained.order_reason,
            "alias": trained.alias,
            "version": trained.version.version,
            "champion_version": trained.champion_version,
        }
    ]
    for item in sessions:
        day, _, flag = item.partition("!")
        as_of = dt.date.fromisoformat(day)
        result = retrain_ticker(
            ticker=ticker,
            prices=history,
            registry=stack.registry,
            audit=stack.audit,
            config=stack.retrain,
            as_of=as_of,
            now=_clock(as_of),
            triggered_by="schedule",
            force=flag == "force",
            fallback_to_naive=flag == "fallback",
        )
        steps.append(
            {
                "step": f"retrain {item}",
                "spec": result.spec.to_dict(),
                "decision": result.decision.to_dict(),
                "promoted": result.promoted,
                "fallback": result.fallback,
                "forced": result.forced,
                "from_version": result.from_version,
                "to_version": result.to_version,
                "challenger": result.challenger_order,
                "champion": result.champion_order,
                "holdout": result.holdout,
            }
        )
    return _plain(steps)


def _differences(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Where `actual` differs from `expected`: floats beyond REL relative (and ABS absolute), anything else."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        if set(expected) != set(actual):
            return [f"{path}: keys {sorted(set(expected) ^ set(actual))} differ"]
        return [d for k in expected for d in _differences(expected[k], actual[k], f"{path}.{k}")]
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(actual)} items, expected {len(expected)}"]
        return [
            d
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for d in _differences(e, a, f"{path}[{i}]")
        ]
    numbers = (int, float)
    if isinstance(expected, float) and isinstance(actual, numbers) and not isinstance(actual, bool):
        both_nan = math.isnan(expected) and math.isnan(actual)
        if both_nan or math.isclose(expected, actual, rel_tol=REL, abs_tol=ABS):
            return []
        return [f"{path}: {actual!r} != {expected!r}"]
    if type(expected) is not type(actual) or expected != actual:
        return [f"{path}: {actual!r} != {expected!r}"]
    return []


@pytest.fixture(scope="module")
def expected() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURE.read_text())
    return data


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_training_and_retraining_match_the_recorded_results(
    name: str, expected: dict[str, Any], tmp_path: Path
) -> None:
    steps = run_scenario(name, tmp_path)
    assert [s["step"] for s in steps] == [s["step"] for s in expected[name]]
    problems = _differences(expected[name], steps)
    assert not problems, "\n".join(problems[:20])


def test_the_pin_covers_every_interval_method_promoted_and_rejected(
    expected: dict[str, Any],
) -> None:
    """The recorded scenarios exercise what the optimised paths touch (a pin of nothing would
    pass whatever the code does)."""
    retrains = [s for steps in expected.values() for s in steps if "decision" in s]
    seen = {(s["spec"]["interval"], s["promoted"]) for s in retrains}
    assert {(m, p) for m in ("ewma", "garch", "conformal") for p in (True, False)} <= seen
    assert any(s["forced"] for s in retrains)
    assert any(s["fallback"] for s in retrains)
    trained = [s for steps in expected.values() for s in steps if "alias" in s]
    assert {s["alias"] for s in trained} == {"champion", "challenger"}  # one lost to naive
    assert {s["spec"]["model_type"] for s in trained} >= {"arima", "ets"}


def test_the_comparison_catches_a_change_beyond_the_tolerance() -> None:
    base = {"a": [1.0, {"b": 0.25, "c": "x"}], "d": True}
    assert _differences(base, {"a": [1.0 + 1e-5, {"b": 0.25, "c": "x"}], "d": True}) == []
    assert _differences(base, {"a": [1.0 + 1e-2, {"b": 0.25, "c": "x"}], "d": True})
    assert _differences(base, {"a": [1.0, {"b": 0.25, "c": "y"}], "d": True})
    assert _differences(base, {"a": [1.0, {"b": 0.25, "c": "x"}], "d": False})


if __name__ == "__main__" and sys.argv[1:] == ["--record"]:
    import tempfile

    recorded = {}
    for scenario in SCENARIOS:
        with tempfile.TemporaryDirectory() as tmp:
            recorded[scenario] = run_scenario(scenario, Path(tmp))
    FIXTURE.write_text(json.dumps(recorded, indent=1, sort_keys=True) + "\n")
    print(f"wrote {FIXTURE}")

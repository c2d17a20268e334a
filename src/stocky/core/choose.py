"""The honest choice among model families for one ticker.

Every non-naive candidate is fitted on the prices before the validation window, walked forward
over that window with its parameters fixed, and compared with the random walk on the same
targets by a one-sided Diebold-Mariano test on squared errors ("the candidate is better"). The
p-values are Holm-corrected for the number of candidates tried. Only candidates significantly
better than naive after the correction may win; among those the lowest validation RMSE wins,
with near-ties (relative RMSE difference below `RMSE_TIE`, compared after rounding) going to the
smaller `complexity` and then to a fixed family order, so a 1e-9 perturbation of the prices (or
another BLAS kernel) cannot flip the choice. Otherwise the random walk is kept, and the reason
says why in one sentence with the numbers.

Pure: numpy and scipy (through `stocky.core.dm`); families are used only through the
`Forecaster` interface and `family_class`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from stocky.core.backtest import served_path
from stocky.core.dm import DieboldMariano, diebold_mariano
from stocky.core.families.base import Forecaster, validate_window
from stocky.core.families.naive import Naive
from stocky.core.families.registry import BUILTIN_FAMILIES, family_class
from stocky.errors import BadInput, StockyError

__all__ = [
    "RMSE_TIE",
    "CandidateRow",
    "Choice",
    "choose",
    "holm_adjust",
    "one_sided_pvalue",
]

#: Validation RMSEs closer than this (relative to naive's) are a tie, decided by simplicity.
RMSE_TIE = 1e-6
#: The fewest validation sessions a choice is made on (the DM test needs a sample).
MIN_VALIDATION = 10
#: The fewest prices a candidate is fitted on.
MIN_FIT = 30


@dataclass(frozen=True)
class CandidateRow(Mapping[str, Any]):
    """One candidate's line of the choice table (also a read-only mapping of its fields).

    ``dm_pvalue`` is the one-sided Diebold-Mariano p-value of "better than naive",
    ``holm_pvalue`` its Holm-adjusted value; both are NaN for naive and for a candidate that
    could not be fitted (``note`` says why). ``passed`` means "may be chosen": naive always
    may; another candidate only with ``holm_pvalue <= alpha``.
    """

    model_type: str
    label: str
    complexity: int
    validation_rmse: float
    naive_rmse: float
    skill: float
    dm_statistic: float
    dm_pvalue: float
    holm_pvalue: float
    passed: bool
    chosen: bool = False
    note: str = ""

    def __getitem__(self, key: str) -> Any:
        if key not in self._names():
            raise KeyError(key)
        return getattr(self, key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    @classmethod
    def _names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


@dataclass(frozen=True)
class Choice:
    """The family chosen for one ticker, fitted on the part before the validation window."""

    model_type: str
    forecaster: Forecaster
    reason: str
    table: tuple[CandidateRow, ...]
    alpha: float = 0.05
    validation_size: int = 0
    #: Every candidate that could be evaluated (naive included), fitted before the validation
    #: window, by model_type: what a leaderboard walks over the test period.
    models: Mapping[str, Forecaster] = field(default_factory=dict, repr=False)
    #: Each evaluated candidate's validation forecasts as served (means, standard deviations)
    #: by model_type (naive's are not computed: the last closes and naive's sigma).
    paths: Mapping[str, tuple[NDArray[np.float64], NDArray[np.float64]]] = field(
        default_factory=dict, repr=False
    )

    @property
    def label(self) -> str:
        return self.forecaster.label

    def table_records(self) -> list[dict[str, Any]]:
        """The table as plain dicts (for MLflow logging and a leaderboard)."""
        return [dict(row) for row in self.table]


def one_sided_pvalue(test: DieboldMariano, n: int) -> float:
    """The one-sided p-value of "the model's loss is smaller" from a two-sided HLN DM test.

    A negative statistic means the model has the smaller loss: half the two-sided p-value;
    otherwise one minus that half (the Student-t with n - 1 degrees of freedom is symmetric).
    `n` is the number of errors; it only documents the reference distribution.
    """
    del n
    half = test.pvalue / 2.0
    return half if test.statistic < 0 else 1.0 - half


def holm_adjust(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values, in the order given.

    Sorted ascending (ties by position), the i-th smallest (from 0) is multiplied by m - i,
    capped at 1, and made non-decreasing: a hypothesis is rejected at level alpha exactly when
    its adjusted p-value is <= alpha.
    """
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: (pvalues[i], i))
    adjusted = [math.nan] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * float(pvalues[i])))
        adjusted[i] = running
    return adjusted


def _family_rank(model_type: str) -> tuple[int, str]:
    builtin = list(BUILTIN_FAMILIES)
    return (builtin.index(model_type) if model_type in builtin else len(builtin), model_type)


def _validate(
    y: ArrayLike, validation_size: int, train_window: int, alpha: float
) -> NDArray[np.float64]:
    if isinstance(validation_size, bool) or not isinstance(validation_size, int | np.integer):
        raise BadInput(f"validation_size={validation_size!r}: pass a whole number of sessions")
    if validation_size < MIN_VALIDATION:
        raise BadInput(
            f"validation_size={validation_size} is too small to test against naive: "
            f"use at least {MIN_VALIDATION} sessions (126 is the default)"
        )
    if isinstance(train_window, bool) or not isinstance(train_window, int | np.integer):
        raise BadInput(f"train_window={train_window!r}: pass 0 (all history) or a positive count")
    if train_window < 0 or 0 < train_window < MIN_FIT:
        raise BadInput(
            f"train_window={train_window}: use 0 (all history) or at least {MIN_FIT} sessions"
        )
    if not (isinstance(alpha, float | int) and 0.0 < float(alpha) < 1.0):
        raise BadInput(f"alpha={alpha!r} must be a level strictly between 0 and 1, e.g. 0.05")
    return validate_window(y, min_len=validation_size + MIN_FIT, name="y")


def _candidates(families: Sequence[str], fitted: Mapping[str, Forecaster]) -> list[str]:
    names = [n for n in dict.fromkeys(str(f).strip() for f in families) if n and n != "naive"]
    for name, model in fitted.items():
        if name not in names and name != "naive":
            raise BadInput(
                f"fitted[{name!r}] is not among the candidate families {names}: add it to "
                "the families or drop it"
            )
        if getattr(model, "model_type", None) != name:
            raise BadInput(
                f"fitted[{name!r}] is a {getattr(model, 'model_type', type(model).__name__)!r} "
                "forecaster: key each fitted model by its own model_type"
            )
    for name in names:
        # raises BadInput naming the installed families; a global family not given in
        # `fitted` is fitted on this ticker alone (a universe of one)
        family_class(name)
    return names


def _fit(name: str, prices: NDArray[np.float64]) -> Forecaster:
    """A fresh forecaster of family `name` (default configuration) fitted on `prices`."""
    cls: Any = family_class(name)
    model: Forecaster = cls().fit(prices)
    return model


def _rmse(errors: NDArray[np.float64]) -> float:
    return float(np.sqrt(np.mean(errors**2)))


def _untested(name: str, label: str, naive_rmse: float, note: str) -> CandidateRow:
    nan = math.nan
    return CandidateRow(name, label, 0, nan, naive_rmse, nan, nan, nan, nan, False, note=note)


def choose(
    y: ArrayLike,
    *,
    families: Sequence[str],
    validation_size: int,
    train_window: int = 0,
    alpha: float = 0.05,
    fitted: Mapping[str, Forecaster] | None = None,
    serve_window: int = 0,
) -> Choice:
    """Choose among `families` for prices `y`, keeping naive unless beaten significantly.

    Args:
        y: Prices before the test period, oldest first (finite, > 0).
        families: Candidate model types; naive is always a candidate.
        validation_size: Final points of `y` the candidates are compared on.
        train_window: Points each candidate is fitted on (0 = all before the validation).
        alpha: Level of the Holm-corrected one-sided Diebold-Mariano test against naive.
        fitted: Candidates already fitted on the prices before the validation window, keyed
            by model_type (a global model fitted once on the universe); used as given.
        serve_window: Prices behind each validation forecast, as served (0 = all before it;
            `stocky.core.backtest.served_path`).

    Returns:
        A Choice: the model type, its forecaster fitted on the part before the validation
        window, a one-sentence reason with the numbers, and a row per candidate.

    Raises:
        BadInput: Bad prices, too few of them, bad options, or an unknown family.
    """
    arr = _validate(y, validation_size, train_window, alpha)
    given = dict(fitted or {})
    names = _candidates(families, given)
    fit_part = arr[:-validation_size]
    if train_window:
        fit_part = fit_part[-train_window:]
    start = len(fit_part)
    span = arr[-(start + validation_size) :]
    targets = span[start:]
    naive = given["naive"] if "naive" in given else Naive().fit(fit_part)
    naive_err = targets - span[start - 1 : -1]
    naive_rmse = _rmse(naive_err)
    scale = naive_rmse if naive_rmse > 0 else 1.0

    models: dict[str, Forecaster] = {}
    paths: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]] = {}
    rows: dict[str, CandidateRow] = {}
    tested: list[str] = []
    pvalues: list[float] = []
    for name in names:
        try:
            model = given[name] if name in given else _fit(name, fit_part)
            means, stds = served_path(model, span, start=start, window=serve_window)
        except StockyError as exc:  # the family could not use these prices: recorded
            rows[name] = _untested(name, name, naive_rmse, f"not fitted: {exc}")
            continue
        errors = targets - np.asarray(means, dtype=float)
        rmse = _rmse(errors)
        if not np.isfinite(rmse):
            rows[name] = _untested(name, model.label, naive_rmse, "non-finite forecasts")
            continue
        dm = diebold_mariano(errors, naive_err, h=1, power=2)
        p = one_sided_pvalue(dm, len(errors))
        skill = 1.0 - rmse / naive_rmse if naive_rmse > 0 else math.nan
        models[name] = model
        paths[name] = (np.asarray(means, dtype=float), np.asarray(stds, dtype=float))
        rows[name] = CandidateRow(
            name, model.label, int(model.complexity), rmse, naive_rmse, skill,
            dm.statistic, p, math.nan, False,
        )  # fmt: skip
        tested.append(name)
        pvalues.append(p)

    for name, adj in zip(tested, holm_adjust(pvalues), strict=True):
        row = rows[name]
        rows[name] = replace(row, holm_pvalue=adj, passed=adj <= alpha)

    passed = [rows[n] for n in tested if rows[n].passed]
    if passed:
        best = min(passed, key=lambda r: _rank_key(r, scale))
        reason = _winner_reason(best, passed, len(tested), alpha)
        chosen_type, chosen_model = best.model_type, models[best.model_type]
    else:
        reason = _kept_reason(rows, tested, alpha)
        chosen_type, chosen_model = "naive", naive
    naive_row = CandidateRow(
        "naive", naive.label, int(naive.complexity), naive_rmse, naive_rmse, 0.0,
        math.nan, math.nan, math.nan, True,
    )  # fmt: skip
    table = tuple(
        replace(r, chosen=r.model_type == chosen_type)
        for r in (naive_row, *(rows[n] for n in names))
    )
    return Choice(
        chosen_type, chosen_model, reason, table, float(alpha), int(validation_size),
        models={"naive": naive, **models}, paths=paths,
    )  # fmt: skip


def _rank_key(row: CandidateRow, scale: float) -> tuple[float, int, tuple[int, str]]:
    """Lowest validation RMSE after rounding to RMSE_TIE of naive's RMSE, then the smaller
    complexity, then the fixed family order: a 1e-9 perturbation moves an RMSE by about a
    thousandth of the grid, so it cannot reorder candidates that differ by more."""
    return (
        float(np.round(row.validation_rmse / (scale * RMSE_TIE))),
        row.complexity,
        _family_rank(row.model_type),
    )


def _winner_reason(best: CandidateRow, passed: list[CandidateRow], m: int, alpha: float) -> str:
    others = (
        f"the lowest validation RMSE of the {len(passed)} that passed; " if len(passed) > 1 else ""
    )
    return (
        f"{best.model_type}: {best.label} RMSE {best.validation_rmse:.4f} vs naive "
        f"{best.naive_rmse:.4f} (skill {best.skill:+.2%}), one-sided DM p = "
        f"{best.dm_pvalue:.2g}, Holm-adjusted {best.holm_pvalue:.2g} <= {alpha:g} over {m} "
        f"candidate{'s' if m != 1 else ''}: {others}chosen over the random walk"
    )


def _kept_reason(rows: Mapping[str, CandidateRow], tested: list[str], alpha: float) -> str:
    if not tested:
        notes = "; ".join(f"{r.model_type} {r.note}" for r in rows.values())
        detail = f" ({notes})" if notes else ""
        return f"no candidate besides naive could be evaluated{detail}: kept the random walk"
    # the closest to passing: the smallest p-value (ties: lower RMSE, then family order). It is
    # Holm's first step, tested at alpha / m, and it failed (else some candidate had passed).
    name = min(tested, key=lambda n: (rows[n].dm_pvalue, rows[n].validation_rmse, _family_rank(n)))
    row = rows[name]
    m = len(tested)
    head = (
        f"{name}: {row.label} RMSE {row.validation_rmse:.4f} vs naive {row.naive_rmse:.4f}, "
        f"one-sided DM p = {row.dm_pvalue:.2g}"
    )
    test = f" > {alpha:g}/{m} (Holm)" if m > 1 else f" > {alpha:g}"
    return f"{head}{test}: kept the random walk"

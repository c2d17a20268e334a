"""Proper scores of a forecast distribution, and direction accuracy, next to the random walk's.

stocky serves a one-step forecast as a mean and a 95% interval, read as a normal distribution
with that mean and ``sigma = half-width / z(0.975)``. Point errors (RMSE) see only the mean;
these scores see the whole distribution:

- `interval_score`: the 95% interval (Winkler) score, ``(u - l) + (2/alpha)(l - y)+ +
  (2/alpha)(y - u)+``: width, plus a penalty for every close outside. Lower is better; it
  rewards the narrowest interval that still holds its level.
- `pinball`: the quantile (pinball) loss of a bound read as a quantile (the lower bound as the
  2.5% quantile, the upper as the 97.5%); the interval score is ``(2/alpha)`` times the sum
  of the two.
- `crps_normal`: the continuous ranked probability score of the normal distribution served
  (closed form, Gneiting & Raftery 2007); in price units, it equals the absolute error for a
  point forecast (sigma 0).
- `direction`: sessions where the forecast's move (forecast - last close) has the sign of the
  actual move (actual - last close), ties on either side left out, and `binomial_pvalue`, the
  exact two-sided binomial test of that share against 50%.

Naive's distribution is the random walk with the same interval: centred on the last close,
with the model's half-width, so a model is compared on its centre and nothing else.

Pure numpy and the standard library: the serving process imports this module through the
monitoring routes, and scipy.stats stays off that path.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from stocky.core.checks import FloatArray
from stocky.errors import BadInput

__all__ = [
    "ALPHA",
    "Z975",
    "DistributionScores",
    "binomial_pvalue",
    "crps_normal",
    "direction",
    "distribution_scores",
    "expected_interval_score",
    "interval_score",
    "naive_interval",
    "normal_cdf",
    "pinball",
    "sigma_of_interval",
]

#: Miss rate of stocky's intervals (95%), and the normal quantile at 1 - ALPHA/2.
ALPHA = 0.05
Z975 = 1.959963984540054
_ERF = np.frompyfunc(math.erf, 1, 1)


def _arrays(*pairs: tuple[ArrayLike, str]) -> list[FloatArray]:
    out = [np.asarray(v, dtype=np.float64) for v, _ in pairs]
    size = out[0].size
    for array, (_, name) in zip(out, pairs, strict=True):
        if array.ndim != 1:
            raise BadInput(f"{name} has shape {array.shape}: pass a 1-D sequence of numbers")
        if array.size != size:
            raise BadInput(
                f"{name} has {array.size} values but {pairs[0][1]} has {size}: pass one per session"
            )
    return out


def _validate_alpha(alpha: float) -> float:
    if not 0.0 < alpha < 1.0:
        raise BadInput(f"alpha={alpha!r}: pass the interval's miss rate in (0, 1), e.g. 0.05")
    return float(alpha)


def interval_score(
    actual: ArrayLike, lower: ArrayLike, upper: ArrayLike, *, alpha: float = ALPHA
) -> FloatArray:
    """The interval (Winkler) score of each session's ``1 - alpha`` interval.

    Args:
        actual: Observed closes.
        lower: Lower bounds, same length.
        upper: Upper bounds, same length.
        alpha: The interval's miss rate (0.05 for a 95% interval).

    Returns:
        ``(upper - lower) + (2/alpha) max(lower - actual, 0) + (2/alpha) max(actual - upper, 0)``
        per session, in price units.

    Raises:
        BadInput: Arrays not 1-D or of different lengths, or alpha outside (0, 1).
    """
    alpha = _validate_alpha(alpha)
    y, lo, hi = _arrays((actual, "actual"), (lower, "lower"), (upper, "upper"))
    below = np.maximum(lo - y, 0.0)
    above = np.maximum(y - hi, 0.0)
    return (hi - lo) + (2.0 / alpha) * (below + above)


def pinball(actual: ArrayLike, quantile: ArrayLike, q: float) -> FloatArray:
    """The pinball (quantile) loss of a forecast of the `q` quantile, per session.

    Args:
        actual: Observed closes.
        quantile: The forecast q-quantile (e.g. the lower bound for q = 0.025).
        q: The quantile level in (0, 1).

    Returns:
        ``max(q (y - f), (q - 1)(y - f))`` per session.
    """
    if not 0.0 < q < 1.0:
        raise BadInput(f"q={q!r}: pass a quantile level in (0, 1), e.g. 0.025")
    y, f = _arrays((actual, "actual"), (quantile, "quantile"))
    diff = y - f
    return np.maximum(q * diff, (q - 1.0) * diff)


def sigma_of_interval(lower: ArrayLike, upper: ArrayLike, *, alpha: float = ALPHA) -> FloatArray:
    """The normal sigma of a central ``1 - alpha`` interval: ``(upper - lower) / (2 z)``."""
    alpha = _validate_alpha(alpha)
    lo, hi = _arrays((lower, "lower"), (upper, "upper"))
    z = Z975 if alpha == ALPHA else _normal_quantile(1.0 - alpha / 2.0)
    return (hi - lo) / (2.0 * z)


def normal_cdf(x: ArrayLike) -> FloatArray:
    """The standard normal CDF, ``(1 + erf(x / sqrt 2)) / 2`` (math.erf: no scipy import)."""
    values = np.asarray(x, dtype=np.float64)
    erf = np.asarray(_ERF(values / math.sqrt(2.0)), dtype=np.float64)
    return 0.5 * (1.0 + erf)


def _normal_quantile(p: float) -> float:
    """The standard normal quantile by bisection on `normal_cdf` (rarely needed: alpha 0.05
    uses the constant)."""
    lo, hi = -10.0, 10.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if 0.5 * (1.0 + math.erf(mid / math.sqrt(2.0))) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


def crps_normal(actual: ArrayLike, mean: ArrayLike, sigma: ArrayLike) -> FloatArray:
    """CRPS of ``N(mean, sigma**2)`` at each actual, in closed form.

    ``sigma [z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi)]`` with ``z = (y - mean) / sigma``;
    a session with sigma 0 scores its absolute error (the CRPS of a point mass).

    Raises:
        BadInput: Arrays of different lengths, or a negative sigma.
    """
    y, mu, s = _arrays((actual, "actual"), (mean, "mean"), (sigma, "sigma"))
    if np.any(s < 0):
        bad = int(np.flatnonzero(s < 0)[0])
        raise BadInput(f"sigma[{bad}] is {s[bad]}: pass sigma >= 0 (upper >= lower)")
    err = y - mu
    point = s == 0
    safe = np.where(point, 1.0, s)
    z = err / safe
    pdf = np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    crps = safe * (z * (2.0 * normal_cdf(z) - 1.0) + 2.0 * pdf - 1.0 / math.sqrt(math.pi))
    return np.where(point, np.abs(err), crps)


def expected_interval_score(sigma: float, *, alpha: float = ALPHA) -> float:
    """Mean interval score of the exact ``1 - alpha`` interval of ``N(mu, sigma**2)``.

    ``sigma (2 z + (4/alpha) (phi(z) - z alpha/2))``, about 4.68 sigma at alpha 0.05: the
    level a calibrated normal forecast holds.
    """
    alpha = _validate_alpha(alpha)
    z = Z975 if alpha == ALPHA else _normal_quantile(1.0 - alpha / 2.0)
    pdf = math.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)
    return float(sigma) * (2.0 * z + (4.0 / alpha) * (pdf - z * alpha / 2.0))


def direction(actual: ArrayLike, prediction: ArrayLike, last: ArrayLike) -> tuple[int, int]:
    """Sessions whose forecast move has the sign of the actual move, and sessions counted.

    A session counts when both moves are non-zero (a flat forecast, e.g. the random walk's,
    or a close equal to the last one says nothing about direction).

    Returns:
        (hits, sessions counted).
    """
    y, f, x = _arrays((actual, "actual"), (prediction, "prediction"), (last, "last"))
    moved, called = np.sign(y - x), np.sign(f - x)
    counted = (moved != 0) & (called != 0)
    return int(np.sum(counted & (moved == called))), int(np.sum(counted))


def binomial_pvalue(hits: int, n: int) -> float | None:
    """Exact two-sided binomial test of ``hits`` successes in ``n`` against p = 0.5.

    Equal to ``scipy.stats.binomtest(hits, n, 0.5).pvalue`` (the test is symmetric at one
    half), computed with integers so that the serving process need not import scipy.stats.

    Returns:
        The p-value, None when n is 0.

    Raises:
        BadInput: hits outside [0, n].
    """
    if n < 0 or not 0 <= hits <= n:
        raise BadInput(f"hits={hits}, n={n}: pass 0 <= hits <= n")
    if n == 0:
        return None
    tail = min(hits, n - hits)
    if 2 * tail == n:
        return 1.0
    count = sum(math.comb(n, i) for i in range(tail + 1))
    return min(1.0, 2 * count / 2**n)


def naive_interval(
    naive: ArrayLike, lower: ArrayLike, upper: ArrayLike, prediction: ArrayLike
) -> tuple[FloatArray, FloatArray]:
    """The random walk's interval: the last close plus or minus the model's half-widths
    (each side's distance from the model's forecast, so an asymmetric interval keeps its
    shape)."""
    x, lo, hi, f = _arrays(
        (naive, "naive"), (lower, "lower"), (upper, "upper"), (prediction, "prediction")
    )
    return x - (f - lo), x + (hi - f)


@dataclass(frozen=True)
class DistributionScores:
    """Means over the sessions of the distribution scores, the model's next to naive's.

    Naive is the last close with the model's interval shifted onto it. Every float is finite
    or None (None: no session to score, or a non-finite value in the input).

    Attributes:
        sessions: Sessions scored.
        interval_score: Mean 95% interval (Winkler) score, price units.
        naive_interval_score: Naive's, with the model's half-width.
        interval_skill: ``1 - interval_score / naive_interval_score``.
        pinball_lower: Mean pinball loss of the lower bound as the 2.5% quantile.
        pinball_upper: Mean pinball loss of the upper bound as the 97.5% quantile.
        naive_pinball_lower, naive_pinball_upper: Naive's.
        crps: Mean CRPS of the normal served (sigma from the interval's half-width).
        naive_crps: Naive's (same sigma, centred on the last close).
        coverage: Share of closes inside the interval.
        naive_coverage: Share inside naive's interval.
        direction_accuracy: Share of counted sessions whose forecast move had the actual
            move's sign (None when no session counts).
        direction_sessions: Sessions counted (both moves non-zero).
        direction_pvalue: Two-sided binomial p-value of direction_accuracy against 50%.
        return_interval_score: Mean interval score over the last close (scale-free): the
            level the interval-score drift detector compares with.
    """

    sessions: int
    interval_score: float | None = None
    naive_interval_score: float | None = None
    interval_skill: float | None = None
    pinball_lower: float | None = None
    pinball_upper: float | None = None
    naive_pinball_lower: float | None = None
    naive_pinball_upper: float | None = None
    crps: float | None = None
    naive_crps: float | None = None
    coverage: float | None = None
    naive_coverage: float | None = None
    direction_accuracy: float | None = None
    direction_sessions: int = 0
    direction_pvalue: float | None = None
    return_interval_score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (finite floats, ints and None)."""
        return asdict(self)


def _mean(values: FloatArray) -> float | None:
    with np.errstate(over="ignore", invalid="ignore"):
        value = float(np.mean(values)) if values.size else math.nan
    return value if math.isfinite(value) else None


def distribution_scores(
    actual: ArrayLike,
    prediction: ArrayLike,
    naive: ArrayLike,
    lower: ArrayLike,
    upper: ArrayLike,
    *,
    alpha: float = ALPHA,
) -> DistributionScores:
    """Every distribution score of the sessions, the model's next to naive's.

    Sessions holding a non-finite value in any of the five arrays, or a lower bound above
    the upper, are left out (monitoring reads logs that may hold them); `sessions` counts
    the rest.

    Args:
        actual: Observed closes.
        prediction: The forecasts (the served distribution's mean).
        naive: The last closes (the random walk's forecast).
        lower: Lower bounds of the forecast's ``1 - alpha`` interval.
        upper: Upper bounds.
        alpha: The interval's miss rate.

    Returns:
        DistributionScores; every float finite or None.

    Raises:
        BadInput: Arrays not 1-D or of different lengths, or alpha outside (0, 1).
    """
    alpha = _validate_alpha(alpha)
    y, f, x, lo, hi = _arrays(
        (actual, "actual"), (prediction, "prediction"), (naive, "naive"), (lower, "lower"),
        (upper, "upper"),
    )  # fmt: skip
    with np.errstate(invalid="ignore"):
        used = np.isfinite(y) & np.isfinite(f) & np.isfinite(x) & np.isfinite(lo) & np.isfinite(hi)
        used &= lo <= hi
    y, f, x, lo, hi = y[used], f[used], x[used], lo[used], hi[used]
    n = int(y.size)
    if n == 0:
        return DistributionScores(sessions=0)
    nlo, nhi = naive_interval(x, lo, hi, f)
    sigma = sigma_of_interval(lo, hi, alpha=alpha)
    score = _mean(interval_score(y, lo, hi, alpha=alpha))
    naive_score = _mean(interval_score(y, nlo, nhi, alpha=alpha))
    hits, counted = direction(y, f, x)
    skill = None
    if score is not None and naive_score:
        skill = 1.0 - score / naive_score
        skill = skill if math.isfinite(skill) else None
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = interval_score(y, lo, hi, alpha=alpha) / x
    return DistributionScores(
        sessions=n,
        interval_score=score,
        naive_interval_score=naive_score,
        interval_skill=skill,
        pinball_lower=_mean(pinball(y, lo, alpha / 2.0)),
        pinball_upper=_mean(pinball(y, hi, 1.0 - alpha / 2.0)),
        naive_pinball_lower=_mean(pinball(y, nlo, alpha / 2.0)),
        naive_pinball_upper=_mean(pinball(y, nhi, 1.0 - alpha / 2.0)),
        crps=_mean(crps_normal(y, f, sigma)),
        naive_crps=_mean(crps_normal(y, x, sigma)),
        coverage=float(np.mean((y >= lo) & (y <= hi))),
        naive_coverage=float(np.mean((y >= nlo) & (y <= nhi))),
        direction_accuracy=hits / counted if counted else None,
        direction_sessions=counted,
        direction_pvalue=binomial_pvalue(hits, counted),
        return_interval_score=_mean(relative) if bool(np.all(x > 0)) else None,
    )

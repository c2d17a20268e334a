"""arch's GARCH(1,1)-t fit, with the jacobians of its linear constraints computed in one pass.

``arch_model(...).fit()`` maximises the likelihood with SciPy's SLSQP and passes its parameter
constraints (``a @ x - b >= 0``: omega, alpha, beta >= 0, alpha + beta <= 1, 2.05 <= nu <= 500)
without jacobians, so at every iteration SciPy approximates each row's gradient by forward
differences, one `approx_derivative` call per row: about half the cost of a fit.

`fit_garch_t` runs the same optimisation (arch's starting values, bounds, objective and
constraints, SLSQP with the same options) and gives SLSQP those jacobians itself, computed
exactly as SciPy would: the same steps (`approx_derivative`'s absolute step, flipped or shrunk
at a bound), the same differences ``((a @ x1 - b) - (a @ x0 - b)) / ((x0 + h) - x0)``. Each row
has at most two non-zero entries, both ±1, so ``a @ x`` is the same floating-point number
whatever the summation order and the jacobians are bit for bit SciPy's: the estimates equal
``arch_model(...).fit()``'s (`tests/unit/test_intervals_garch_fit.py` checks it on real and
synthetic series). A model outside that shape (rescaled data, other constraints) is fitted by
arch itself.

Fitting only: `arch` and `scipy.optimize` are imported inside the functions; arch is imported
with matplotlib hidden (`_import_arch`).
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["fit_garch_t", "forward_difference_steps"]

#: SciPy's SLSQP `eps`, the absolute step of its forward differences.
_ABS_STEP = float(np.sqrt(np.finfo(np.float64).eps))
#: `approx_derivative`'s relative step for '2-point' when the absolute step vanishes.
_REL_STEP = float(np.finfo(np.float64).eps ** 0.5)


def forward_difference_steps(
    x0: NDArray[np.float64], lb: NDArray[np.float64], ub: NDArray[np.float64]
) -> NDArray[np.float64]:
    """The steps of SciPy's 2-point `approx_derivative` with ``abs_step=eps`` within bounds.

    The absolute step (the relative one where ``x0 + h == x0``), reversed where it would
    leave the bounds and fits the other way, else shrunk to the larger room
    (`scipy.optimize._numdiff._adjust_scheme_to_bounds`, one-sided).
    """
    sign = (x0 >= 0).astype(float) * 2 - 1
    moved = (x0 + _ABS_STEP) - x0
    h = np.where(moved == 0, _REL_STEP * sign * np.maximum(1.0, np.abs(x0)), _ABS_STEP)
    if np.all((lb == -np.inf) & (ub == np.inf)):
        return h
    adjusted = h.copy()
    below, above = x0 - lb, ub - x0
    stepped = x0 + h
    violated = (stepped < lb) | (stepped > ub)
    fitting = np.abs(h) <= np.maximum(below, above)
    adjusted[violated & fitting] *= -1
    forward = (above >= below) & ~fitting
    adjusted[forward] = above[forward]
    backward = (above < below) & ~fitting
    adjusted[backward] = -below[backward]
    return adjusted


def _unit_rows(a: NDArray[np.float64]) -> bool:
    """Every row has at most two non-zero entries, each ±1 (order-free dot products)."""
    nonzero = a != 0
    return bool(np.all(np.isin(a, (-1.0, 0.0, 1.0))) and np.all(nonzero.sum(axis=1) <= 2))


def _constraints(
    a: NDArray[np.float64], b: NDArray[np.float64], lb: NDArray[np.float64], ub: NDArray[np.float64]
) -> list[dict[str, Any]]:
    """arch's constraint dictionaries (one per row of ``a @ x - b >= 0``) with jacobians."""
    last: dict[bytes, NDArray[np.float64]] = {}

    def jacobian(params: NDArray[np.float64]) -> NDArray[np.float64]:
        x0 = np.asarray(params, dtype=np.float64)
        key = x0.tobytes()
        if key in last:
            return last[key]
        if (x0 < lb).any() or (x0 > ub).any():  # SciPy clips before differencing
            x0 = np.clip(x0, lb, ub)
        h = forward_difference_steps(x0, lb, ub)
        n = x0.size
        stepped = np.tile(x0, (n, 1))
        diagonal = np.arange(n)
        stepped[diagonal, diagonal] = x0 + h
        f0 = a @ x0 - b
        f1 = stepped @ a.T - b  # row i: every constraint at x0 with coordinate i stepped
        jac = ((f1 - f0) / ((x0 + h) - x0)[:, None]).T
        last.clear()
        last[key] = jac
        return jac

    def row(i: int) -> dict[str, Any]:
        coeff, value = a[i], float(b[i])

        def fun(params: NDArray[np.float64], *_args: Any) -> float:
            return float(np.dot(coeff, params) - value)

        def jac(params: NDArray[np.float64], *_args: Any) -> NDArray[np.float64]:
            return jacobian(params)[i].copy()

        return {"type": "ineq", "fun": fun, "jac": jac}

    return [row(i) for i in range(a.shape[0])]


def fit_garch_t(returns: NDArray[np.float64]) -> tuple[NDArray[np.float64], int]:
    """GARCH(1,1) with Student-t innovations and a constant mean, fitted on `returns`.

    Equal to ``arch_model(returns, mean="Constant", vol="GARCH", p=1, q=1, dist="t",
    rescale=False).fit(disp="off")``: its parameters (mu, omega, alpha, beta, nu) and its
    convergence flag (0: converged).
    """
    _import_arch()
    from arch import arch_model

    model = arch_model(returns, mean="Constant", vol="GARCH", p=1, q=1, dist="t", rescale=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the caller checks convergence; scale is not changed
        prepared = _prepare(model)
        if prepared is None:
            res = model.fit(disp="off")
            return np.asarray(res.params, dtype=np.float64), int(res.convergence_flag)
        return _minimise(*prepared)


def _import_arch() -> None:
    """Import arch with matplotlib hidden, unless either is loaded already.

    arch imports `matplotlib.figure` when it is installed, for a version check and type hints
    only (its plots import pyplot when called): ~0.12 s of every process that fits a GARCH
    interval and draws no chart (a study cell, `train`, `daily`). With matplotlib hidden
    (None in `sys.modules` makes its import raise ImportError, which arch catches) arch takes
    its own no-matplotlib path; matplotlib stays importable afterwards.
    """
    if "arch.univariate.base" in sys.modules or "matplotlib" in sys.modules:
        return
    sys.modules["matplotlib"] = None  # type: ignore[assignment]
    try:
        import arch.univariate  # noqa: F401
    finally:
        if sys.modules.get("matplotlib", 0) is None:
            del sys.modules["matplotlib"]


def _prepare(model: Any) -> tuple[Callable[..., float], Any, tuple[Any, ...], Any, Any] | None:
    """arch's own set-up of `fit` (steps 1-3 of ``ARCHModel.fit``), or None when the model is
    not of the shape whose jacobians are exact here."""
    from arch.utility.array import to_array_1d

    vol, dist = model.volatility, model.distribution
    model._adjust_sample(None, None)
    resids = model.resids(model.starting_values())
    model._check_scale(resids)
    if model.scale != 1.0:
        return None
    backcast = vol.backcast(resids)
    sigma2 = np.zeros(resids.shape[0], dtype=float)
    model._backcast = backcast
    sv_volatility = vol.starting_values(resids)
    model._var_bounds = var_bounds = vol.variance_bounds(resids)
    vol.compute_variance(sv_volatility, resids, sigma2, backcast, var_bounds)
    std_resids = resids / np.sqrt(sigma2)
    blocks = (model.constraints(), vol.constraints(), dist.constraints())
    sizes = (model.num_params, vol.num_params, dist.num_params)
    a = np.zeros((sum(c[0].shape[0] for c in blocks), sum(sizes)))
    b = np.zeros(a.shape[0])
    row = col = 0
    for (coeff, value), size in zip(blocks, sizes, strict=True):
        a[row : row + coeff.shape[0], col : col + size] = coeff
        b[row : row + coeff.shape[0]] = value
        row, col = row + coeff.shape[0], col + size
    if not _unit_rows(a):
        return None
    bounds = model.bounds()
    bounds.extend(vol.bounds(resids))
    bounds.extend(dist.bounds(std_resids))
    sv = to_array_1d(
        np.hstack([model.starting_values(), sv_volatility, dist.starting_values(std_resids)])
    )
    lb = np.array([-np.inf if lo is None else lo for lo, _ in bounds], dtype=float)
    ub = np.array([np.inf if hi is None else hi for _, hi in bounds], dtype=float)
    return (
        model._loglikelihood,
        sv,
        (sigma2, backcast, var_bounds),
        bounds,
        _constraints(a, b, lb, ub),
    )


def _minimise(
    objective: Callable[..., float], sv: Any, args: tuple[Any, ...], bounds: Any, cons: Any
) -> tuple[NDArray[np.float64], int]:
    """arch's step 4: SLSQP from the starting values (its status is arch's flag)."""
    from scipy.optimize import minimize

    opt = minimize(
        objective,
        sv,
        args=args,
        method="SLSQP",
        bounds=bounds,
        constraints=cons,
        tol=None,
        options={"disp": False},
    )
    return np.asarray(opt.x, dtype=np.float64), int(opt.status)

"""The weight tables of many ARIMA models at once: one filter pass per state size, not per model.

`stocky.core.kalman.weight_table` runs the filter on the identity for one model: n steps of
small (k x k) and (k x n) matrix products, about 4 ms for n = 60, almost all of it numpy's
per-call overhead. A server loading 1,000 champions spent 4 s there. Models whose state
spaces have the same shape (same d and r = max(p, q + 1)) run here as one stack: every
product gets a leading model axis, so the per-call overhead is paid once per step for the
whole stack. The arithmetic is the same as `weight_table`'s, model by model, so the tables
agree with it to rounding (a test pins this on fitted S&P 500 models).

Models with a smaller p or q than their stack's r take zero AR and MA coefficients in the
unused places, which is exactly the state space `weight_table` builds for them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from stocky.core.kalman import DIFFUSE_VARIANCE, WeightTable

__all__ = ["FilterModel", "weight_tables"]


@dataclass(frozen=True)
class FilterModel:
    """Fixed ARIMA parameters as the filter needs them (statsmodels sign convention)."""

    ar: tuple[float, ...]
    ma: tuple[float, ...]
    d: int
    sigma2: float
    mean: float = 0.0

    @property
    def shape(self) -> tuple[int, int]:
        """(d, r): models with the same shape share a stack."""
        return self.d, max(len(self.ar), len(self.ma) + 1)


def weight_tables(n: int, models: Sequence[FilterModel]) -> list[WeightTable]:
    """`weight_table(n, ...)` of every model, computed a stack of same-shaped models at a time.

    Args:
        n: Longest window length.
        models: The models, in any mix of orders.

    Returns:
        One WeightTable per model, in the order given; each owns its arrays.

    Raises:
        ValueError: If n is not positive, or a model's sigma2 is not positive (naming it).
    """
    if n < 1:
        raise ValueError(f"window length must be >= 1, got {n}")
    for i, model in enumerate(models):
        if not model.sigma2 > 0:
            raise ValueError(f"models[{i}].sigma2 must be > 0, got {model.sigma2}")
    stacks: dict[tuple[int, int], list[int]] = defaultdict(list)
    for i, model in enumerate(models):
        stacks[model.shape].append(i)
    out: list[WeightTable | None] = [None] * len(models)
    for (d, r), members in stacks.items():
        tables = _stack_tables(n, [models[i] for i in members], d=d, r=r)
        for i, table in zip(members, tables, strict=True):
            out[i] = table
    return [t for t in out if t is not None]


def _stack_tables(n: int, models: list[FilterModel], *, d: int, r: int) -> list[WeightTable]:
    design, transition, noise, cov = _stacked_state_space(models, d=d, r=r)
    size = len(models)
    mean = np.array([m.mean for m in models])
    transition_t = transition.transpose(0, 2, 1)
    # coef[b, :, j] is model b's state coefficient on y[j]; const the part from its intercept
    coef = np.zeros((size, d + r, n))
    const = np.zeros((size, d + r))
    rows = np.zeros((size, n, n))
    intercepts = np.zeros((size, n))
    variances = np.zeros((size, n))
    for t in range(n):
        pz = cov @ design  # (B, k)
        f = pz @ design  # (B,)
        gain = np.einsum("bij,bj->bi", transition, pz) / f[:, None]
        innov = -(design @ coef)  # (B, n)
        innov[:, t] += 1.0
        innov_const = -mean - const @ design
        coef = transition @ coef + gain[:, :, None] * innov[:, None, :]
        const = np.einsum("bij,bj->bi", transition, const) + gain * innov_const[:, None]
        cov = (
            transition @ cov @ transition_t
            + noise
            - gain[:, :, None] * gain[:, None, :] * f[:, None, None]
        )
        rows[:, t, : t + 1] = (design @ coef)[:, : t + 1]
        intercepts[:, t] = mean + const @ design
        variances[:, t] = (cov @ design) @ design
    return [
        WeightTable(
            weights=rows[b].copy(), intercepts=intercepts[b].copy(), variances=variances[b].copy()
        )
        for b in range(size)
    ]


def _stacked_state_space(
    models: list[FilterModel], *, d: int, r: int
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """`kalman._state_space` of each model, stacked: Z (k,), T (B,k,k), RQR' (B,k,k), P0."""
    size, k = len(models), d + r
    ar = np.zeros((size, r))
    ma = np.zeros((size, r - 1))
    for b, model in enumerate(models):
        ar[b, : len(model.ar)] = model.ar
        ma[b, : len(model.ma)] = model.ma
    sigma2 = np.array([m.sigma2 for m in models])
    transition = np.zeros((size, k, k))
    transition[:, :d, :d] = np.triu(np.ones((d, d)))
    transition[:, :d, d] = 1.0
    transition[:, d:, d] = ar
    transition[:, d : d + r - 1, d + 1 :] = np.eye(r - 1)
    selection = np.zeros((size, k))
    selection[:, d] = 1.0
    selection[:, d + 1 :] = ma
    design = np.zeros(k)
    design[: d + 1] = 1.0
    noise = selection[:, :, None] * selection[:, None, :] * sigma2[:, None, None]
    p0 = np.zeros((size, k, k))
    p0[:, :d, :d] = np.eye(d) * DIFFUSE_VARIANCE
    p0[:, d:, d:] = _discrete_lyapunov(transition[:, d:, d:], noise[:, d:, d:])
    return design, transition, noise, p0


def _discrete_lyapunov(a: NDArray[np.float64], q: NDArray[np.float64]) -> NDArray[np.float64]:
    """X with X = A X A' + Q for each model of the stack.

    scipy's `solve_discrete_lyapunov` solves systems this small (r <= 6 here, below its
    switch to the bilinear method at 10) by the same Kronecker-product equation,
    ``(I - A kron A) vec(X) = vec(Q)``; numpy's `solve` takes the whole stack at once.
    """
    size, r, _ = a.shape
    lhs = np.eye(r * r) - np.einsum("bij,bkl->bikjl", a, a).reshape(size, r * r, r * r)
    x = np.linalg.solve(lhs, q.reshape(size, r * r, 1))
    return x.reshape(size, r, r)

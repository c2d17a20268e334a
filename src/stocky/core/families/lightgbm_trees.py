"""LightGBM trees evaluated in numpy from the booster's JSON dump (no lightgbm import).

`TreeEnsemble.from_dump` walks every tree of ``Booster.dump_model()`` once and flattens it into
padded arrays; `TreeEnsemble.predict` then scores all rows and all trees at once with the
QuickScorer bitvector trick (Lucchese et al., SIGIR 2015): number each tree's leaves left to
right, start with every leaf possible, and for every split whose test sends a row to the right
strike out the leaves of its left subtree. The row's leaf is the lowest leaf still standing
(every leaf left of it is in the left subtree of a split on its path that went right, and its
own path strikes nothing of its own). A tree has at most 64 leaves, one bit each of a uint64.

A split follows LightGBM's ``Tree::NumericalDecision``: NaN becomes 0.0 unless the split's
missing type is NaN; a missing value (NaN for type NaN, |x| <= 1e-35f for type Zero) goes to the
default side; otherwise ``x <= threshold`` goes left. The prediction is the sum of the trees'
leaf values (LightGBM folds the initial score into the first tree and shrinkage into the
leaves, so the dump's leaf values add up to ``Booster.predict`` for a plain regression).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from stocky.errors import BadInput

__all__ = ["TreeEnsemble"]

_MISSING = {"None": 0, "Zero": 1, "NaN": 2}
_ZERO = float(np.float32(1e-35))  # LightGBM's kZeroThreshold, a float
_CHUNK = 4096  # rows scored at once: bounds the (rows, trees, splits) temporaries


@dataclass
class _Tree:
    leaves: list[float]
    feature: list[int]
    threshold: list[float]
    default_left: list[bool]
    missing: list[int]
    left_mask: list[int]


def _walk(node: Mapping[str, Any], tree: _Tree, n_features: int) -> None:
    """Append `node`'s subtree to `tree`: leaves in left-to-right order, splits with their masks."""
    if "leaf_value" in node:
        tree.leaves.append(float(node["leaf_value"]))
        return
    if node.get("decision_type") != "<=":
        raise BadInput(
            f"lightgbm split with decision_type {node.get('decision_type')!r} is not supported "
            "(only numerical '<=' splits): retrain without categorical features"
        )
    feature = int(node["split_feature"])
    if not 0 <= feature < n_features:
        raise BadInput(f"lightgbm split on feature {feature}, but the model has {n_features}")
    missing = _MISSING.get(node.get("missing_type", "None"))
    if missing is None:
        raise BadInput(f"lightgbm missing_type {node.get('missing_type')!r} is unknown")
    first = len(tree.leaves)
    _walk(node["left_child"], tree, n_features)
    end = len(tree.leaves)
    tree.feature.append(feature)
    tree.threshold.append(float(node["threshold"]))
    tree.default_left.append(bool(node["default_left"]))
    tree.missing.append(missing)
    tree.left_mask.append(((1 << end) - 1) ^ ((1 << first) - 1))
    _walk(node["right_child"], tree, n_features)


@dataclass(frozen=True)
class TreeEnsemble:
    """Flattened trees, split arrays shaped ``(max splits, trees)`` so per-tree reductions run
    across trees; leaf values flat, tree t's leaves at ``leaf_offset[t] + 0, 1, ...``."""

    MAX_LEAVES: ClassVar[int] = 64

    feature: NDArray[np.intp]
    threshold: NDArray[np.float64]
    default_left: NDArray[np.bool_]
    missing: NDArray[np.int8]
    left_mask: NDArray[np.unsignedinteger[Any]]  # the narrowest unsigned type holding a tree
    leaf_values: NDArray[np.float64]
    leaf_offset: NDArray[np.intp]  # minus one: the leaf index comes out one too high
    n_features: int
    n_leaves: int
    has_missing: bool

    @classmethod
    def from_dump(cls, dump: Mapping[str, Any], *, n_features: int) -> TreeEnsemble:
        """Flatten ``Booster.dump_model()`` of a plain regression.

        Raises:
            BadInput: An objective, split kind or tree size this evaluator does not handle.
        """
        if dump.get("num_tree_per_iteration", 1) != 1 or dump.get("average_output", False):
            raise BadInput("only single-output, summed LightGBM models are supported: retrain")
        if int(dump.get("max_feature_idx", n_features - 1)) != n_features - 1:
            raise BadInput(
                f"the lightgbm model has {dump.get('max_feature_idx', 0) + 1} features, "
                f"expected {n_features}: retrain the model"
            )
        trees = []
        for info in dump["tree_info"]:
            tree = _Tree([], [], [], [], [], [])
            _walk(info["tree_structure"], tree, n_features)
            if len(tree.leaves) > cls.MAX_LEAVES:
                raise BadInput(f"a tree has {len(tree.leaves)} leaves, over {cls.MAX_LEAVES}")
            trees.append(tree)
        if not trees:
            raise BadInput("the lightgbm model has no trees: retrain the model")
        sizes = np.array([len(t.leaves) for t in trees])
        bits = next(b for b in (8, 16, 32, 64) if b >= sizes.max())
        shape = (max(1, max(len(t.feature) for t in trees)), len(trees))
        feature = np.zeros(shape, dtype=np.intp)
        threshold = np.zeros(shape)
        default_left = np.zeros(shape, dtype=bool)
        missing = np.zeros(shape, dtype=np.int8)
        left_mask = np.zeros(shape, dtype=f"uint{bits}")  # padding strikes nothing
        for i, t in enumerate(trees):
            k = len(t.feature)
            feature[:k, i] = t.feature
            threshold[:k, i] = t.threshold
            default_left[:k, i] = t.default_left
            missing[:k, i] = t.missing
            left_mask[:k, i] = t.left_mask
        return cls(
            feature=feature,
            threshold=threshold,
            default_left=default_left,
            missing=missing,
            left_mask=left_mask,
            leaf_values=np.array([v for t in trees for v in t.leaves]),
            leaf_offset=(np.cumsum(sizes) - sizes - 1).astype(np.intp),
            n_features=n_features,
            n_leaves=int(sizes.sum()),
            has_missing=bool((missing != 0).any()),
        )

    def _go_right(self, values: NDArray[np.float64]) -> NDArray[np.bool_]:
        nan = np.isnan(values)
        if not (self.has_missing or nan.any()):
            return values > self.threshold
        values = np.where(nan & (self.missing != 2), 0.0, values)
        is_missing = ((self.missing == 1) & (np.abs(values) <= _ZERO)) | (
            (self.missing == 2) & np.isnan(values)
        )
        return np.where(is_missing, ~self.default_left, values > self.threshold)

    def _leaf_sum(self, struck: NDArray[np.unsignedinteger[Any]]) -> NDArray[np.float64]:
        # The leaf is the count of trailing ones of `struck` (s ^ (s + 1) has that many + 1);
        # never all ones, since the row's own leaf is never struck.
        ones = np.bitwise_count(struck ^ (struck + self.left_mask.dtype.type(1)))
        total: NDArray[np.float64] = self.leaf_values[self.leaf_offset + ones].sum(axis=-1)
        return total

    def _score(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        go_right = self._go_right(x[:, self.feature])  # (rows, splits, trees)
        return self._leaf_sum(np.bitwise_or.reduce(self.left_mask * go_right, axis=1))

    def predict(self, x: NDArray[np.float64]) -> NDArray[np.float64]:
        """The model's raw score for each row of `x` (shape ``(rows, n_features)``).

        Raises:
            BadInput: `x` is not a 2-D array with `n_features` columns.
        """
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise BadInput(f"feature rows of shape {x.shape}: expected (rows, {self.n_features})")
        if len(x) <= _CHUNK:
            return self._score(x)
        return np.concatenate([self._score(x[i : i + _CHUNK]) for i in range(0, len(x), _CHUNK)])

    def predict_row(self, x: NDArray[np.float64]) -> float:
        """`predict` of one row of NaN-free features, on the shortest path (the serving one)."""
        if self.has_missing:
            return float(self.predict(x[None, :])[0])
        go_right = x[self.feature] > self.threshold  # (splits, trees)
        return float(self._leaf_sum(np.bitwise_or.reduce(self.left_mask * go_right, axis=0)))

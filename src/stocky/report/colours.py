"""The study heatmap's colours without a plotting library: a red-white-blue diverging scale
and the label colour (black or white) that contrasts more with each cell (WCAG 2).

The scale interpolates ColorBrewer's 11-class RdBu linearly in sRGB, as matplotlib's "RdBu"
does: dark red at 0, near-white at 0.5, dark blue at 1.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from stocky.errors import BadInput

__all__ = ["contrast_ratio", "contrast_text", "diverging", "luminance", "to_hex"]

#: ColorBrewer RdBu, 11 classes, dark red to dark blue.
_RDBU = (
    "#67001f", "#b2182b", "#d6604d", "#f4a582", "#fddbc7", "#f7f7f7",
    "#d1e5f0", "#92c5de", "#4393c3", "#2166ac", "#053061",
)  # fmt: skip
_ANCHORS = tuple(tuple(int(h[i : i + 2], 16) / 255 for i in (1, 3, 5)) for h in _RDBU)


def diverging(t: float) -> tuple[float, float, float]:
    """The scale's colour at `t` (clipped to [0, 1]) as sRGB channels in [0, 1].

    Args:
        t: Position on the scale: 0 dark red, 0.5 near-white, 1 dark blue.

    Returns:
        (red, green, blue).

    Raises:
        BadInput: `t` is not finite.
    """
    if not math.isfinite(t):
        raise BadInput(f"colour position {t!r} is not finite: pass a number in [0, 1]")
    x = min(max(t, 0.0), 1.0) * (len(_ANCHORS) - 1)
    i = min(int(x), len(_ANCHORS) - 2)
    w = x - i
    lo, hi = _ANCHORS[i], _ANCHORS[i + 1]
    return (
        lo[0] + (hi[0] - lo[0]) * w,
        lo[1] + (hi[1] - lo[1]) * w,
        lo[2] + (hi[2] - lo[2]) * w,
    )


def to_hex(rgb: Sequence[float]) -> str:
    """sRGB channels in [0, 1] as "#rrggbb"."""
    return "#" + "".join(f"{round(min(max(c, 0.0), 1.0) * 255):02x}" for c in rgb[:3])


def luminance(rgb: Sequence[float]) -> float:
    """WCAG relative luminance of an sRGB colour with channels in [0, 1]."""
    lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb[:3]]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast_ratio(a: Sequence[float], b: Sequence[float]) -> float:
    """WCAG contrast ratio of two sRGB colours, from 1 (same) to 21 (black on white)."""
    la, lb = sorted((luminance(a), luminance(b)))
    return (lb + 0.05) / (la + 0.05)


def contrast_text(rgb: Sequence[float]) -> str:
    """ "#000" or "#fff", whichever contrasts more with the background `rgb` (WCAG ratio)."""
    lum = luminance(rgb)
    return "#000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#fff"

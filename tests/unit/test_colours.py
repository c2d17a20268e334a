"""The heatmap's diverging colour scale against matplotlib's "RdBu" (the independent reference:
the same ColorBrewer anchors), and the label colour rule: whichever of black and white it
picks reaches WCAG AA's 4.5:1 on every colour of the scale."""

from __future__ import annotations

import numpy as np
import pytest

from stocky.errors import BadInput
from stocky.report.colours import contrast_ratio, contrast_text, diverging, to_hex

BLACK, WHITE = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)
STEPS = np.linspace(0.0, 1.0, 201)


def test_the_scale_matches_matplotlib_rdbu() -> None:
    from matplotlib import colormaps

    reference = colormaps["RdBu"]
    # matplotlib looks its map up in 256 bins: within one bin's step of the exact interpolation
    worst = max(np.max(np.abs(np.array(diverging(t)) - reference(t)[:3])) for t in STEPS)
    assert worst < 0.02
    assert to_hex(diverging(0.0)) == "#67001f" and to_hex(diverging(1.0)) == "#053061"
    assert to_hex(diverging(0.5)) == "#f7f7f7"
    assert diverging(-3.0) == diverging(0.0) and diverging(7.0) == diverging(1.0)  # clipped


def test_the_label_colour_reaches_aa_contrast_on_every_colour_of_the_scale() -> None:
    for t in STEPS:
        rgb = diverging(float(t))
        label = BLACK if contrast_text(rgb) == "#000" else WHITE
        other = WHITE if label == BLACK else BLACK
        assert contrast_ratio(rgb, label) >= 4.5, (t, to_hex(rgb))
        assert contrast_ratio(rgb, label) >= contrast_ratio(rgb, other)  # the better of the two
    assert contrast_text(diverging(0.0)) == "#fff" and contrast_text(diverging(1.0)) == "#fff"
    assert contrast_text(diverging(0.5)) == "#000"


def test_contrast_ratio_matches_the_wcag_extremes() -> None:
    assert contrast_ratio(BLACK, WHITE) == pytest.approx(21.0)
    assert contrast_ratio(WHITE, WHITE) == pytest.approx(1.0)
    # WCAG's worked example: #777 on white is 4.48:1
    grey = (0x77 / 255,) * 3
    assert contrast_ratio(grey, WHITE) == pytest.approx(4.48, abs=0.01)


def test_a_non_finite_position_is_refused() -> None:
    with pytest.raises(BadInput, match="nan"):
        diverging(float("nan"))

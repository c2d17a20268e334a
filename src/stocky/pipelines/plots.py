"""PNG charts rendered off-screen (matplotlib Agg), returned as bytes."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

__all__ = ["forecast_vs_actual_png"]


def forecast_vs_actual_png(
    dates: Sequence[object],
    actual: ArrayLike,
    predicted: ArrayLike,
    lower: ArrayLike,
    upper: ArrayLike,
    *,
    title: str,
) -> bytes:
    """Forecast vs actual with the interval band, as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4.5), dpi=100)
    try:
        x = np.asarray(dates)
        ax.fill_between(
            x,
            np.asarray(lower),
            np.asarray(upper),
            color="tab:blue",
            alpha=0.15,
            label="95% interval",
        )
        ax.plot(x, np.asarray(actual), color="black", lw=1.2, label="actual close")
        ax.plot(x, np.asarray(predicted), color="tab:blue", lw=1.0, label="one-step forecast")
        ax.set_title(title)
        ax.legend(loc="upper left")
        ax.grid(alpha=0.3)
        fig.autofmt_xdate()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", bbox_inches="tight")
        return buf.getvalue()
    finally:
        plt.close(fig)

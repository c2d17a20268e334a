"""The study's drill-down pages: skill over time checked against a hand computation, every
labeled forecast plotted, hostile tickers escaped, no NaN or Infinity on the page, and the
study page's heatmap cells and rows linking to pages that exist."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stocky.core.drift import rolling_skill
from stocky.core.skill_curves import cumulative_skill
from stocky.errors import BadInput
from stocky.pipelines.study import CellResult, result_folder
from stocky.pipelines.study_pages import CELL_PAGE
from stocky.pipelines.study_report import write_study
from stocky.pipelines.study_trace import CellTrace, write_trace
from stocky.report.cell_page import SKILL_WINDOW, render_cell_page, skill_window
from stocky.report.colours import contrast_text

HOSTILE = '<script>alert("x")</script>&'


def _frame(n: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    actual = 100 + np.cumsum(rng.normal(0, 1, n + 1))
    naive = actual[:-1]
    prediction = naive + rng.normal(0, 0.3, n)
    return pd.DataFrame(
        {
            "target_date": pd.bdate_range("2021-01-04", periods=n),
            "actual": actual[1:],
            "prediction": prediction,
            "lower": prediction - 2.0,
            "upper": prediction + 2.0,
            "naive": naive,
            "model_version": np.where(np.arange(n) < n // 2, 1, 2),
        }
    )


def _by_hand(a: np.ndarray, p: np.ndarray, nv: np.ndarray, lo: int, hi: int) -> float:
    model = np.sqrt(np.mean([(a[i] - p[i]) ** 2 for i in range(lo, hi)]))
    naive = np.sqrt(np.mean([(a[i] - nv[i]) ** 2 for i in range(lo, hi)]))
    return float(1 - model / naive)


def test_rolling_and_cumulative_skill_match_a_hand_computation() -> None:
    f = _frame(200)
    a, p, nv = (f[c].to_numpy() for c in ("actual", "prediction", "naive"))
    cumulative = cumulative_skill(a, p, nv)
    rolling = rolling_skill(a, p, nv, window=SKILL_WINDOW)
    for i in (0, 10, 62, 63, 150, 199):
        assert cumulative[i] == pytest.approx(_by_hand(a, p, nv, 0, i + 1), rel=1e-12)
        if i >= SKILL_WINDOW - 1:
            expected = _by_hand(a, p, nv, i + 1 - SKILL_WINDOW, i + 1)
            assert rolling[i] == pytest.approx(expected, rel=1e-9)
        else:
            assert np.isnan(rolling[i])
    # naive exact so far: no skill yet (a gap), never a division by zero
    flat = cumulative_skill([1.0, 1.0, 2.0], [1.5, 1.0, 1.0], [1.0, 1.0, 1.0])
    assert np.isnan(flat[0]) and np.isnan(flat[1]) and flat[2] == pytest.approx(1 - np.sqrt(1.25))
    with pytest.raises(BadInput, match="one value of each"):
        cumulative_skill([1.0], [1.0, 2.0], [1.0])


def _points(page: str, series: str) -> int:
    match = re.search(rf'data-series="{series}" data-points="(\d+)" d="([^"]*)"', page)
    assert match, series
    drawn = len(re.findall(r"[ML]-?[\d.]+,-?[\d.]+", match.group(2)))
    # the attribute counts what the path draws (the band: its top, then its foot)
    assert drawn == int(match.group(1)) * (2 if series == "band" else 1)
    return int(match.group(1))


def _page(ticker: str, frame: pd.DataFrame) -> str:
    decisions = [
        {"session": "2021-02-01", "action": "promote", "from_version": 1, "to_version": 2,
         "triggered_by": "drift", "reason": HOSTILE, "champion_rmse": 1.0,
         "challenger_rmse": None, "naive_rmse": 1.1},
        {"session": "2021-03-01", "action": "reject", "from_version": 2, "to_version": None,
         "triggered_by": "monthly", "reason": "worse", "champion_rmse": None,
         "challenger_rmse": None, "naive_rmse": None},
    ]  # fmt: skip
    return render_cell_page(
        ticker=ticker,
        policy=f"retrain=on-drift {HOSTILE}",
        retrain_mode="on-drift",
        headline={
            "labeled": len(frame),
            "rmse": 0.3,
            "naive_rmse": 1.0,
            "skill": 0.7,
            "retrains": 2,
            "promotions": 1,
            "rollbacks": 0,
            "drift_alerts": 1,
            "compute_seconds": 0.5,
        },  # fmt: skip
        frame=frame,
        decisions=decisions,
        drift=[{"session": "2021-01-29", "decision": "retrain", "model_version": 1}],
        alerts=[{"session": "2021-02-01", "kind": "retrain_promoted"}],
        study_href="../../../study.html",
    )


@pytest.mark.parametrize("ticker", ["^GSPC", "BRK.B", HOSTILE])
def test_the_cell_page_plots_every_labeled_forecast_and_escapes_names(ticker: str) -> None:
    frame = _frame(200)
    page = _page(ticker, frame)
    for series in ("actual", "forecast", "band", "cumulative"):
        assert _points(page, series) == len(frame), series
    assert _points(page, "rolling") == len(frame) - SKILL_WINDOW + 1  # from the full window
    assert "<script" not in page  # no script at all, and the hostile one escaped
    assert "&lt;script&gt;" in page
    assert not re.search(r"\bNaN\b|Infinity|\binf\b", page)
    assert "+70.00%" in page and 'href="../../../study.html"' in page
    assert 'data-event="retrain promoted"' in page and 'data-event="drift alert"' in page
    assert 'data-event="retrain_promoted"' in page  # the alert's own lane


def test_a_short_replay_gets_a_shorter_window_and_an_empty_one_still_renders() -> None:
    assert skill_window(500) == SKILL_WINDOW and skill_window(30) == 10
    page = _page("AAA", _frame(30))
    assert _points(page, "rolling") == 30 - 10 + 1
    empty = _page("AAA", _frame(0))
    assert "no labeled forecasts" in empty and not re.search(r"NaN|Infinity", empty)


def test_label_colours_contrast_with_the_cell() -> None:
    assert contrast_text((0.02, 0.19, 0.38)) == "#fff"  # RdBu's dark blue end
    assert contrast_text((0.40, 0.0, 0.12)) == "#fff"  # its dark red end
    assert contrast_text((0.97, 0.97, 0.97)) == "#000"  # its pale middle


def test_the_study_page_links_every_traced_cell_to_its_page(tmp_path: Path) -> None:
    cells = [
        CellResult("^GSPC", "retrain=never", "never", 100, 200, 0.3, 1.0, 0.7),
        CellResult(HOSTILE, "retrain=never", "never", 100, 200, 0.3, 1.0, -0.01),
        # finished before traces were kept: shown, not linked
        CellResult("OLD", "retrain=never", "never", 100, 200, 0.3, 1.0, 0.01),
        CellResult("BAD", "retrain=never", "never", error="boom"),
    ]
    for cell in cells[:2]:
        folder = result_folder(tmp_path, cell.ticker, cell.policy, cell.retrain_mode)
        write_trace(CellTrace(_frame(200)), folder)
    page = write_study(cells, tmp_path, start="2021-01-04", end="2021-10-08").html.read_text()
    links = re.findall(r' href="(cells/[^"]+)"', page)  # not data-href
    assert len(links) == 4  # two cells, each from its heatmap cell and its table row
    # heatmap.svg links the same two pages (it sits in the study folder too)
    svg_links = re.findall(r'<a href="(cells/[^"]+)"', (tmp_path / "heatmap.svg").read_text())
    assert sorted(svg_links) == sorted(set(links))
    assert all((tmp_path / link).is_file() for link in links)
    assert all(link.endswith(CELL_PAGE) for link in links)
    gspc = result_folder(tmp_path, "^GSPC", "retrain=never", "never") / CELL_PAGE
    assert gspc.relative_to(tmp_path).as_posix() in links
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    # the drill-down links back to the study page
    back = re.search(r'href="([^"]*study.html)"', gspc.read_text())
    assert back and (gspc.parent / back.group(1)).resolve() == (tmp_path / "study.html").resolve()
    # the heatmap keeps percent labels
    assert "+70.00%" in page and "-1.00%" in page

"""`stocky report` and `GET /dashboard` on a real SQLite log, drift checks and MLflow registry."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import typer
from fastapi.testclient import TestClient

from stocky.adapters.prices.bundled import BundledSource
from stocky.adapters.store import create_schema, make_engine
from stocky.adapters.store.audit import AuditRepository, PromotionRow
from stocky.adapters.store.fleet import FleetRepository
from stocky.adapters.store.predictions import ActualUpdate, PredictionRecord, PredictionRepository
from stocky.api.app import create_app
from stocky.config import get_settings
from stocky.core.drift import DriftRule
from stocky.core.sessions import TradingCalendar
from stocky.pipelines.drift import check_drift
from stocky.pipelines.fleet_view import with_overview
from stocky.report.build import build_report
from stocky.report.charts import CHART_HEIGHT, CHART_WIDTH, CHARTS
from stocky.report.html import render_ticker
from stocky.report.model import Report
from stocky.report.write import write_report
from support import make_settings, registry_for

pytestmark = pytest.mark.integration

TICKER = "^GSPC"
SESSIONS = 60  # target sessions predicted; the last two stay unlabeled
RULE = DriftRule(window=10, threshold_multiplier=1.0, consecutive_days=2)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Seeded:
    home: Path
    actual: np.ndarray  # per labeled target session, oldest first
    prediction: np.ndarray  # the prediction that counts (the last one logged)
    lower: np.ndarray
    upper: np.ndarray
    naive: np.ndarray
    promoted_on: dt.date


def seed_monitoring(home: Path) -> Seeded:
    """Log the champion's real forecasts for the last SESSIONS bundled sessions and label them.

    One session gets a second, later forecast (the one that counts); drift checks run through
    the real pipeline every 5 sessions; one promotion is recorded.
    """
    settings = make_settings(home)
    engine = make_engine(settings.db_url)
    create_schema(engine)
    repo, audit = PredictionRepository(engine), AuditRepository(engine)
    registry = registry_for(settings)
    spec, info = registry.load_spec(TICKER)
    model = spec.forecaster()
    frame = BundledSource().fetch(TICKER)
    dates = [d.date() for d in frame["date"]]
    close = frame["close"].to_numpy(float)
    n = len(close)
    updates: list[ActualUpdate] = []
    counted: dict[int, tuple[float, float, float, float, float]] = {}
    labeled_at = dt.datetime(2019, 1, 2, 22, tzinfo=dt.UTC)
    for i in range(n - SESSIONS, n):
        as_of = dates[i - 1]
        f = model.forecast(close[i - 30 : i])
        shifts = (0.0, 5.0) if i == n - 20 else (0.0,)  # a later re-forecast of one session
        for k, shift in enumerate(shifts):
            pid = repo.insert(
                PredictionRecord(
                    ticker=TICKER,
                    created_at=dt.datetime.combine(as_of, dt.time(20, k), dt.UTC),
                    as_of=as_of,
                    target_date=dates[i],
                    prediction=f.mean + shift,
                    lower=f.lower + shift,
                    upper=f.upper + shift,
                    naive=float(close[i - 1]),
                    model_name=info.name,
                    model_version=info.version,
                    arima_order=str(spec.arima_params.order),
                    history_len=30,
                    input_hash=f"seed-{i}-{k}",
                    request_id=f"seed-{i}-{k}",
                    source="replay",
                )
            )
            if i < n - 2:  # the last two sessions stay pending
                updates.append(ActualUpdate(pid, float(close[i]), labeled_at))
                counted[i] = (
                    close[i],
                    f.mean + shift,
                    f.lower + shift,
                    f.upper + shift,
                    close[i - 1],
                )
    assert repo.attach_actuals(updates) == len(updates)
    calendar = TradingCalendar(settings.exchange)
    for i in range(n - SESSIONS + 12, n - 2, 5):
        check_drift(
            predictions=repo,
            audit=audit,
            registry=registry,
            calendar=calendar,
            ticker=TICKER,
            as_of=dates[i],
            rule=RULE,
            now=dt.datetime.combine(dates[i], dt.time(23), dt.UTC),
            detector="rule",
        )
    promoted_on = dates[n - 30]
    audit.add_promotion(
        PromotionRow(
            ticker=TICKER,
            model_name=info.name,
            action="promote",
            from_version=1,
            to_version=2,
            decided_at=dt.datetime.combine(promoted_on, dt.time(23), dt.UTC),
            as_of=promoted_on,
            reason="challenger <b>beat</b> the champion & naive",
            triggered_by="drift",
            champion_rmse=31.0,
            challenger_rmse=30.0,
            naive_rmse=30.5,
        )
    )
    engine.dispose()
    cols = np.array(list(counted.values()), dtype=float).T
    return Seeded(home, *cols, promoted_on=promoted_on)


@pytest.fixture(scope="module")
def seeded(trained_home: Path, tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    home = tmp_path_factory.mktemp("report") / "home"
    shutil.copytree(trained_home, home)
    return seed_monitoring(home)


def report_for(home: Path, tickers: list[str] | None = None) -> Report:
    settings = make_settings(home)
    engine = make_engine(settings.db_url)
    create_schema(engine)
    now = dt.datetime(2019, 1, 3, 12, tzinfo=dt.UTC)
    built = build_report(
        predictions=PredictionRepository(engine),
        audit=AuditRepository(engine),
        registry=registry_for(settings),
        tickers=tickers or [TICKER],
        drift_rule=RULE,
        now=now,
    )
    return with_overview(
        built,
        store=FleetRepository(engine),
        calendar=TradingCalendar(settings.exchange),
        now=now,
        grace=dt.timedelta(hours=6),
    )


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_summary_matches_a_hand_computation(seeded):
    part = report_for(seeded.home).tickers[0]
    s = part.summary
    assert s is not None
    assert part.labeled_rows == SESSIONS - 2 + 1  # one session forecast twice
    assert s.sessions == SESSIONS - 2 and part.pending == 2
    err = seeded.actual - seeded.prediction
    assert s.rmse == pytest.approx(np.sqrt(np.mean(err**2)), rel=1e-12)
    naive = np.sqrt(np.mean((seeded.actual - seeded.naive) ** 2))
    assert s.naive_rmse == pytest.approx(naive, rel=1e-12)
    assert s.skill == pytest.approx(1 - s.rmse / naive, rel=1e-12)
    inside = (seeded.actual >= seeded.lower) & (seeded.actual <= seeded.upper)
    assert s.coverage == pytest.approx(inside.mean())


def test_rolling_series_agrees_with_stored_drift_checks(seeded):
    part = report_for(seeded.home).tickers[0]
    rolling = part.rolling.set_index(part.rolling["target_date"].dt.date)
    checks = part.drift_checks
    assert len(checks) >= 8
    for c in checks:  # evaluated independently by the drift pipeline when it ran
        assert rolling.loc[c.as_of, "value"] == pytest.approx(c.latest_value, rel=1e-9)
        assert rolling.loc[c.as_of, "naive_value"] == pytest.approx(c.naive_latest_value, rel=1e-9)
    drifted = [(c.as_of, c.latest_value) for c in reversed(checks) if c.drifted]
    assert drifted, "the seeded rule should raise drift at least once on Q4 2018"
    assert list(part.alerts) == drifted
    assert [v for _, v in part.thresholds] == [c.threshold for c in reversed(checks)]
    assert part.changes == ((seeded.promoted_on, "promote", "promote v2"),)
    # skill from the rolling RMSEs, checked at the last session by hand
    a, p, nv = (
        seeded.actual[-RULE.window :],
        seeded.prediction[-RULE.window :],
        seeded.naive[-RULE.window :],
    )
    expected = 1 - np.sqrt(np.mean((a - p) ** 2)) / np.sqrt(np.mean((a - nv) ** 2))
    assert part.rolling["skill"].iloc[-1] == pytest.approx(expected, rel=1e-9)
    assert part.rolling["skill"].iloc[: RULE.window - 1].isna().all()


def test_write_report_writes_page_and_fixed_size_charts(seeded, tmp_path):
    index = write_report(report_for(seeded.home), tmp_path / "out")
    assert index == tmp_path / "out" / "index.html"
    overview = index.read_text(encoding="utf-8")
    # the overview lists the ticker and links its page, which holds the charts and tables
    assert '<a href="t/gspc.html">^GSPC</a>' in overview
    assert "<img" not in overview and 'data-ticker="^GSPC"' in overview
    assert not re.search(r"https?://|<script src|<link rel=\"stylesheet|@import|url\(", overview)
    html = (tmp_path / "out" / "t" / "gspc.html").read_text(encoding="utf-8")
    assert '<a href="../index.html" data-nav="overview">' in html
    for chart in CHARTS:
        png = (tmp_path / "out" / "t" / f"gspc-{chart}.png").read_bytes()
        assert png_size(png) == (CHART_WIDTH, CHART_HEIGHT)
        assert len(png) > 10_000, f"{chart} looks blank ({len(png)} bytes)"
        tag = re.search(rf'<img src="gspc-{chart}.png"[^>]*>', html)
        assert tag is not None, chart
        assert f'width="{CHART_WIDTH}"' in tag.group(0) and f'height="{CHART_HEIGHT}"' in tag.group(
            0
        )
        assert f'data-chart="{chart}"' in tag.group(0) and 'alt="^GSPC: ' in tag.group(0)
    assert '<table class="versions">' in html and "<td>v1</td><td>champion</td>" in html
    assert "ARIMA(0,1,1)" in html
    # data is escaped: the promotion reason's markup shows as text
    assert "challenger &lt;b&gt;beat&lt;/b&gt; the champion &amp; naive" in html
    assert "<b>beat</b>" not in html
    # self-contained: nothing fetched from elsewhere
    assert not re.search(r"https?://|<script|<link rel=\"stylesheet|@import|url\(", html)


def test_ticker_without_labels_shows_the_hint_and_versions(trained_home, tmp_path):
    home = tmp_path / "home"
    shutil.copytree(trained_home, home)
    report = report_for(home)
    assert not report.tickers[0].has_data
    write_report(report, tmp_path / "out")
    html = (tmp_path / "out" / "t" / "gspc.html").read_text(encoding="utf-8")
    assert 'data-empty="no-labels"' in html and "run `stocky actuals`" in html
    assert "<img" not in html
    assert '<table class="versions">' in html
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["index.html", "t"]
    assert sorted(p.name for p in (tmp_path / "out" / "t").iterdir()) == [
        "charts.json",
        "gspc.html",
    ]


def test_render_ticker_escapes_tickers_and_urls(seeded):
    report = report_for(seeded.home)

    def page(**kwargs):
        return render_ticker(
            report.tickers[0],
            rule=report.rule,
            generated_at=report.generated_at,
            overview_href="../index.html",
            **kwargs,
        )

    html = page(image_src=lambda t, c: f"x?t={t}&c={c}")
    assert 'src="x?t=^GSPC&amp;c=forecast"' in html
    assert "<meta http-equiv" not in html
    assert '<meta http-equiv="refresh" content="60">' in page(
        image_src=lambda t, c: "x", refresh_seconds=60
    )


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def cli_home(seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    for var in [v for v in os.environ if v.startswith("STOCKY_")]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("STOCKY_HOME", str(seeded.home))
    monkeypatch.setenv("STOCKY_PRICE_SOURCE", "bundled")
    monkeypatch.setenv("STOCKY_DRIFT_WINDOW", str(RULE.window))
    get_settings.cache_clear()
    yield seeded.home
    get_settings.cache_clear()


def test_cli_report_writes_every_ticker_and_prints_the_page(cli_home, tmp_path, capsys):
    from stocky.cli.report import report

    report(ticker=None, out=tmp_path / "page")
    printed = capsys.readouterr().out.strip()
    assert printed == str(tmp_path / "page" / "index.html")
    # the charts, and the champion's training chart copied from its training run
    assert sorted(p.name for p in (tmp_path / "page" / "t").glob("*.png")) == sorted(
        [*(f"gspc-{c}.png" for c in CHARTS), "gspc-training.png"]
    )
    page = (tmp_path / "page" / "t" / "gspc.html").read_text(encoding="utf-8")
    assert 'src="gspc-training.png"' in page
    assert 'href="t/gspc.html"' in (tmp_path / "page" / "index.html").read_text(encoding="utf-8")


def test_cli_report_rejects_an_unknown_ticker(cli_home, tmp_path, capsys):
    from stocky.cli.report import report

    with pytest.raises(typer.Exit) as exc:
        report(ticker=["nope"], out=tmp_path / "page")
    assert exc.value.exit_code == 2
    assert "no model and no predictions for NOPE: use one of ^GSPC" in capsys.readouterr().err
    assert not (tmp_path / "page").exists()


# --------------------------------------------------------------------------- API


@pytest.fixture
def client(seeded: Seeded) -> Iterator[TestClient]:
    settings = make_settings(seeded.home, drift_window=RULE.window)
    with TestClient(create_app(settings)) as c:
        yield c


def test_dashboard_serves_the_page_and_its_charts(client):
    overview = client.get("/dashboard")
    assert overview.status_code == 200
    assert overview.headers["content-type"].startswith("text/html")
    assert '<a href="/dashboard/%5EGSPC">^GSPC</a>' in overview.text
    r = client.get("/dashboard/%5EGSPC")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    srcs = dict(re.findall(r'<img src="([^"]+)"[^>]*data-chart="([^"]+)"', r.text))
    training = next(src for src, chart in srcs.items() if chart == "training")
    del srcs[training]
    assert sorted(srcs.values()) == sorted(CHARTS)
    # the training chart: the champion's training run's PNG, as logged
    assert training.startswith("/dashboard/training/%5EGSPC.png?run=")
    png = client.get(training.replace("&amp;", "&"))
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png_size(png.content) == (CHART_WIDTH, CHART_HEIGHT)
    for src, chart in srcs.items():
        assert src.startswith(f"/dashboard/charts/%5EGSPC/{chart}.png?v=")
        png = client.get(src)
        assert png.status_code == 200, png.text
        assert png.headers["content-type"] == "image/png"
        assert png_size(png.content) == (CHART_WIDTH, CHART_HEIGHT)
        again = client.get(src)  # served from the cache: same bytes
        assert again.content == png.content
    assert "challenger &lt;b&gt;beat&lt;/b&gt;" in r.text


def test_dashboard_chart_without_fingerprint_renders_current_data(client):
    r = client.get("/dashboard/charts/%5EGSPC/skill.png")
    assert r.status_code == 200 and png_size(r.content) == (CHART_WIDTH, CHART_HEIGHT)


@pytest.mark.parametrize(
    ("path", "needle"),
    [
        ("/dashboard/charts/%5EGSPC/pie.png", "chart 'pie' is unknown: use one of forecast"),
        ("/dashboard/charts/NOPE/forecast.png", "ticker 'NOPE' has no model and no predictions"),
        ("/dashboard/NOPE", "ticker 'NOPE' has no model and no predictions"),
    ],
)
def test_dashboard_unknown_chart_or_ticker_is_404_json(client, path, needle):
    r = client.get(path)
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/json"
    assert needle in r.json()["detail"]


def test_unknown_symbols_are_answered_from_the_known_list_read_once(client, monkeypatch):
    """Each unknown symbol used to list the registry and scan the prediction log (0.4-0.7 s)."""
    from stocky.api.routes import dashboard

    calls: list[int] = []
    real = dashboard.known_tickers

    def counted(**kwargs):
        calls.append(1)
        return real(**kwargs)

    monkeypatch.setattr(dashboard, "known_tickers", counted)
    client.app.state.dashboard_known = dashboard.KnownTickers()  # type: ignore[attr-defined]
    for symbol in ("NOPE", "ZZZZ", "QQQX", "NOPE"):
        r = client.get(f"/dashboard/{symbol}")
        assert r.status_code == 404 and "has no model and no predictions" in r.json()["detail"]
        assert "^GSPC" in r.json()["detail"]  # the known tickers are still named
    assert calls == [1]
    assert client.get("/dashboard/%5EGSPC").status_code == 200  # a served model: no list read
    assert calls == [1]

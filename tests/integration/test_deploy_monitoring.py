"""deploy/: the Grafana dashboard and the Prometheus rules ask only for metrics the API exports.

The exported names are read from the real /metrics of a test app over SYNTHETIC monitoring
state. The promtool checks skip when promtool is missing, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from synthetic_monitoring import metric_names, monitoring_app

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS = ROOT / "deploy" / "prometheus"
GRAFANA = ROOT / "deploy" / "grafana"
# metric names in PromQL: stocky's own, and Prometheus' `up`
METRIC = re.compile(r"\b(stocky_[a-z0-9_]+|up)\b")


@pytest.fixture(scope="module")
def metrics_text(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The API's /metrics once it has served and scraped."""
    home = tmp_path_factory.mktemp("deploy") / "home"
    with TestClient(monitoring_app(home)) as client:
        client.post("/predict", json={"recent_prices": [100.0] * 10})  # 404: no model, counted
        return client.get("/metrics").text


@pytest.fixture(scope="module")
def exported(metrics_text: str) -> set[str]:
    """Every metric name the API's /metrics defines once it has served and scraped."""
    names = metric_names(metrics_text)
    assert "stocky_drift_skill_vs_naive" in names  # the per-ticker gauges were scraped
    return names


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for panel in dashboard["panels"]:
        out.append(panel)
        out.extend(panel.get("panels", []))  # panels inside collapsed rows
    return out


def _metrics_in(expr: str) -> set[str]:
    return set(METRIC.findall(expr)) - {"up"} if "stocky_" in expr else set(METRIC.findall(expr))


def test_dashboard_queries_name_exported_metrics(exported):
    dashboard = json.loads((GRAFANA / "dashboards" / "stocky.json").read_text())
    datasource = yaml.safe_load(
        (GRAFANA / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"][0]
    panels = [p for p in _panels(dashboard) if p["type"] != "row"]
    assert len(panels) >= 10
    ids = [p["id"] for p in _panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    queried: set[str] = set()
    for panel in panels:
        where = f"panel {panel['title']!r}"
        assert panel["datasource"]["uid"] == datasource["uid"], where
        box = panel["gridPos"]
        assert box["x"] + box["w"] <= 24 and box["h"] > 0, where
        assert panel["targets"], f"{where} has no query"
        for target in panel["targets"]:
            names = _metrics_in(target["expr"])
            assert names, f"{where}: {target['expr']!r} names no metric"
            missing = names - exported
            assert not missing, f"{where} queries {sorted(missing)}, which /metrics does not export"
            queried |= names
    for variable in dashboard["templating"]["list"]:
        assert _metrics_in(variable.get("definition", "")) <= exported, variable["name"]
    # the board shows what the alerts are about
    assert {
        "stocky_model_degraded",
        "stocky_label_lag_seconds",
        "stocky_prediction_log_failures_total",
        "stocky_forecast_sessions_behind",
        "stocky_interval_coverage_ratio",
        "stocky_drift_skill_vs_naive",
    } <= queried


def test_per_ticker_panels_show_top_or_bottom_k():
    """A panel drawing one series per ticker ranks them and keeps `$k` (not the whole fleet)."""
    dashboard = json.loads((GRAFANA / "dashboards" / "stocky.json").read_text())
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    k = variables["k"]
    options = [o.strip() for o in k["query"].split(",")]
    assert k["type"] == "custom" and not k["multi"] and not k["includeAll"]
    assert all(o.isdigit() and int(o) > 0 for o in options), options
    assert k["current"]["value"] in options
    assert [o["value"] for o in k["options"]] == options
    assert [o["value"] for o in k["options"] if o["selected"]] == [k["current"]["value"]]
    per_ticker = [
        p
        for p in _panels(dashboard)
        if p["type"] == "table"
        or any("{{ticker}}" in t.get("legendFormat", "") for t in p.get("targets", []))
    ]
    assert len(per_ticker) >= 8
    ranked = re.compile(r" and on \(ticker\) (topk|bottomk)\(\$k, .+\)$")
    for panel in per_ticker:
        for target in panel["targets"]:
            assert ranked.search(target["expr"]), f"panel {panel['title']!r}: {target['expr']!r}"
            # ranked at the end of the range: one set of k tickers across a time-series panel
            if not target.get("instant"):
                assert "@ end()" in target["expr"], panel["title"]
        assert "$k" in panel["description"], panel["title"]


def test_dashboard_provider_path_is_the_mounted_folder():
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "stocky.yml").read_text())[
        "providers"
    ][0]
    grafana = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]["grafana"]
    mounts = dict(str(v).split(":")[:2] for v in grafana["volumes"] if str(v).startswith("."))
    assert mounts["./deploy/grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./deploy/grafana/provisioning"] == "/etc/grafana/provisioning"


def test_alert_rules_name_exported_metrics(exported):
    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    alerts = {r["alert"]: r for group in rules["groups"] for r in group["rules"]}
    assert {
        "StockyModelDegraded",
        "StockyLabelsLate",
        "StockyPredictionsFailingToLog",
        "StockyNoForecastLoggedToday",
    } <= set(alerts)
    for name, rule in alerts.items():
        missing = _metrics_in(rule["expr"]) - exported - {"up"}
        assert not missing, f"{name} uses {sorted(missing)}, which /metrics does not export"
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name


def test_prometheus_scrapes_the_api_service():
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    targets = [
        t for job in config["scrape_configs"] for s in job["static_configs"] for t in s["targets"]
    ]
    assert targets == ["api:8000"]
    assert any(str(p).endswith(":8000") for p in compose["api"]["ports"])
    assert config["rule_files"] == ["alerts.yml"]


def _promtool() -> str:
    found = shutil.which("promtool")
    if found:
        return found
    message = (
        "promtool NOT FOUND: the Prometheus rule checks did not run; "
        "install Debian's prometheus package (apt-get install prometheus)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.mark.parametrize(
    "args",
    [
        ["check", "config", "prometheus.yml"],
        ["check", "rules", "alerts.yml"],
        ["test", "rules", "alerts_test.yml"],
    ],
    ids=["check-config", "check-rules", "test-rules"],
)
def test_promtool(args):
    result = subprocess.run(
        [_promtool(), *args], cwd=PROMETHEUS, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_promtool_finds_nothing_to_lint_in_the_metrics(metrics_text):
    """Names and units by Prometheus' conventions (base units: `stocky_label_lag_hours` was
    flagged, now `_seconds`)."""
    result = subprocess.run(
        [_promtool(), "check", "metrics"],
        input=metrics_text,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and not result.stdout.strip(), result.stdout + result.stderr

"""Every Grafana panel's PromQL parses and evaluates in a real Prometheus, and the rules load.

Prometheus scrapes, on loopback, the /metrics text of a test app over SYNTHETIC monitoring state
(served as a static page so the values do not move). Skipped when `prometheus` is missing,
except in CI (CI=true), where it fails.
"""

from __future__ import annotations

import dataclasses
import http.server
import importlib.util
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import httpx
import pytest
from fastapi.testclient import TestClient

from synthetic_monitoring import monitoring_app

pytestmark = [pytest.mark.integration, pytest.mark.slow]

GRAFANA = Path(__file__).resolve().parents[2] / "deploy" / "grafana"


@pytest.fixture(scope="module")
def prometheus() -> str:
    """The prometheus binary (asked for first, so a missing one skips before any set-up)."""
    found = shutil.which("prometheus")
    if found:
        return found
    message = (
        "prometheus NOT FOUND: the Grafana board's queries were not evaluated; "
        "install Debian's prometheus package (apt-get install prometheus)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _promboard() -> ModuleType:
    if "promboard" not in sys.modules:  # deploy/grafana is a folder of scripts, not a package
        spec = importlib.util.spec_from_file_location("promboard", GRAFANA / "promboard.py")
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules["promboard"] = module
        spec.loader.exec_module(module)
    return sys.modules["promboard"]


@pytest.fixture(scope="module")
def exposition(tmp_path_factory: pytest.TempPathFactory) -> str:
    home = tmp_path_factory.mktemp("grafana") / "home"
    with TestClient(monitoring_app(home)) as client:
        client.post("/predict", json={"recent_prices": [100.0] * 10})  # 404: a request counted
        return client.get("/metrics").text


@pytest.fixture(scope="module")
def target(exposition: str) -> Iterator[str]:
    """host:port of a loopback server answering /metrics with the app's exposition."""
    body = exposition.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return  # keep the test output clean

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def _rules_evaluated(prom: httpx.Client, timeout: float = 20.0) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        groups = prom.get("/api/v1/rules").json()["data"]["groups"]
        rules = [r for g in groups for r in g["rules"]]
        if rules and all(r["health"] != "unknown" for r in rules):
            return rules
        assert time.monotonic() < deadline, f"rules not evaluated in {timeout} s: {rules}"
        time.sleep(0.5)


def _gauge(exposition: str, name: str) -> dict[str, float]:
    """Per ticker, the largest value of one gauge in the exposition (as `max by (ticker)`)."""
    out: dict[str, float] = {}
    pattern = rf'^{name}\{{(?:[^}}]*,)?ticker="([^"]+)"[^}}]*\}} (\S+)$'
    for sym, value in re.findall(pattern, exposition, flags=re.MULTILINE):
        out[sym] = max(out.get(sym, float("-inf")), float(value))
    return out


def _tickers(series: list) -> set[str]:
    return {s.labels["ticker"] for s in series}


def test_every_panel_query_evaluates(prometheus, exposition, target, tmp_path):
    promboard = _promboard()
    tickers = set(
        re.findall(
            r'^stocky_drift_check_timestamp_seconds\{ticker="([^"]+)"',
            exposition,
            flags=re.MULTILINE,
        )
    )
    assert len(tickers) > 100
    board, panels = promboard.load_board()
    queried = [p for p in panels if p.queries]
    assert len(queried) >= 10
    with (
        promboard.run_prometheus(tmp_path / "prom", target=target, binary=prometheus) as url,
        httpx.Client(base_url=url, timeout=30.0) as prom,
    ):
        promboard.wait_for_scrapes(prom, 3, timeout=30.0)
        variables = promboard.template_values(prom, board)
        now = time.time()
        results = promboard.evaluate(
            prom, panels, start=now - 10, end=now, step=1.0, variables=variables
        )
        # the per-ticker panels again with k = 5 (the board's default is 10)
        five = promboard.template_values(prom, board, overrides={"k": "5"})
        top5 = promboard.evaluate(prom, panels, start=now - 10, end=now, step=1.0, variables=five)
        with pytest.raises(promboard.PromQLError, match="not one of its options"):
            promboard.template_values(prom, board, overrides={"k": "7"})
        rules = _rules_evaluated(prom)

        # a broken query is reported, naming the panel (so the pass above means something)
        broken = dataclasses.replace(
            queried[0],
            title="broken",
            queries=[dataclasses.replace(queried[0].queries[0], expr="sum(")],
        )
        with pytest.raises(promboard.PromQLError, match="panel 'broken'"):
            promboard.evaluate(prom, [broken], start=now - 10, end=now, step=1.0, variables={})

    # "All" expands to every ticker the variable's label_values() lists; k is the board's default
    assert variables["ticker"].count("|") + 1 == len(tickers)
    assert variables["k"] == "10" and five["k"] == "5"
    assert {p.id for p in queried} <= set(results)
    by_title = {p.title: results[p.id] for p in queried}
    # the fleet counts still cover every ticker
    assert by_title["Tickers monitored"][0][0].values[-1] == len(tickers)
    assert by_title["Skill vs naive"][0], "no skill series: the $ticker expansion matched nothing"

    # per-ticker panels show k tickers, not the fleet: the ones the exposition ranks worst
    skill = _gauge(exposition, "stocky_drift_skill_vs_naive")
    degraded = _gauge(exposition, "stocky_model_degraded")
    rolling = _gauge(exposition, "stocky_drift_rolling_error")
    threshold = _gauge(exposition, "stocky_drift_threshold")
    lag = _gauge(exposition, "stocky_label_lag_seconds")
    assert len(skill) == len(degraded) == len(tickers)

    def lowest(score: dict[str, float], k: int) -> set[str]:
        ranked = sorted(score, key=lambda sym: score[sym])
        assert score[ranked[k - 1]] != score[ranked[k]], "a tie at the cut: the test data changed"
        return set(ranked[:k])

    attention = {sym: skill.get(sym, 0.0) - 10 * degraded[sym] for sym in degraded}
    worst_ratio = {sym: -rolling[sym] / threshold[sym] for sym in rolling}
    for k, got in ((10, results), (5, top5)):
        panel = {p.title: got[p.id] for p in queried}
        assert _tickers(panel["Skill vs naive"][0]) == lowest(skill, k), k
        table = panel["State per ticker"]  # its columns: the same k rows where they have a value
        assert _tickers(table[0]) == lowest(attention, k), k  # `degraded`: every ticker has one
        assert all(_tickers(ref) <= lowest(attention, k) for ref in table), k
        for ref in panel["Rolling error: model, naive, threshold"]:
            assert _tickers(ref) == lowest(worst_ratio, k), k
        # fewer tickers have a value than k: all of them; ties at 0 lag: k of them, the late one in
        assert _tickers(panel["95% interval coverage"][0]) == set(
            _gauge(exposition, "stocky_interval_coverage_ratio")
        )
        late = {sym for sym, seconds in lag.items() if seconds > 0}
        assert late <= _tickers(panel["Label lag"][0]) and len(panel["Label lag"][0]) == k
        assert _tickers(panel["Since the last forecast was logged"][0]) == set(
            _gauge(exposition, "stocky_last_forecast_logged_timestamp_seconds")
        )
        for p in queried:  # no panel that takes $k draws more than k tickers
            if any("$k" in q.expr for q in p.queries):
                assert all(len(_tickers(ref)) <= k for ref in got[p.id]), (p.title, k)
    # degraded tickers come first in the table, ahead of worse skills that are not degraded
    assert all(degraded[sym] for sym in lowest(attention, 5))
    assert lowest(attention, 5) != lowest(skill, 5)
    # the alert rules load and evaluate without an error
    assert len(rules) >= 4
    assert all(r["health"] == "ok" for r in rules), [(r["name"], r.get("lastError")) for r in rules]

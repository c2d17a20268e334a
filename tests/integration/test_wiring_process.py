"""A Stack is rebuilt from Settings alone in another process (how workers get theirs)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from stocky.config import Settings, settings_payload
from stocky.wiring import build_stack

pytestmark = pytest.mark.integration


def test_a_stack_is_rebuilt_from_settings_alone_in_another_process(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path,
        price_source="bundled",
        order="0,1,1",
        drift_window=7,
        webhook_secret="s3cret",  # secrets travel to workers (model_dump_json would mask them)
    )
    payload = settings_payload(settings)
    code = (
        "import json, sys\n"
        "from stocky.config import Settings\n"
        "from stocky.wiring import build_stack\n"
        "s = Settings.model_validate_json(sys.stdin.read())\n"
        "with build_stack(s) as st:\n"
        "    print(json.dumps([st.train.order, st.drift.window, st.predictions.count(),"
        " st.settings.db_url, s.webhook_secret.get_secret_value()]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], input=payload, capture_output=True, text=True, check=True
    )
    order, window, count, url, secret = json.loads(out.stdout)
    assert (order, window, count, url, secret) == ("0,1,1", 7, 0, settings.db_url, "s3cret")
    with build_stack(settings) as here:  # the same store, seen from this process
        assert here.predictions.count() == count

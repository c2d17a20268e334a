"""The daily job's lock across hosts: a PostgreSQL advisory lock seen by every process."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stocky.adapters.lock import AlreadyRunning, daily_lock
from stocky.adapters.store import make_engine

pytestmark = pytest.mark.integration

HOLD = """
import sys
from pathlib import Path
from stocky.adapters.lock import daily_lock
with daily_lock(sys.argv[1], Path(sys.argv[2])):
    print("held", flush=True)
    sys.stdin.read()  # until the test closes our stdin
print("released", flush=True)
"""


def _env(home: Path, db_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOCKY_")}
    env.update(STOCKY_HOME=str(home), STOCKY_DATABASE_URL=db_url, STOCKY_PRICE_SOURCE="bundled")
    return env


def test_second_host_gets_already_running(fresh_postgres_url, tmp_path):
    # two "hosts": each process has a state folder of its own, so no file lock could see the other
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, fresh_postgres_url, str(tmp_path / "host-a")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        second = subprocess.run(
            [sys.executable, "-m", "stocky", "daily", "--no-report"],
            env=_env(tmp_path / "host-b", fresh_postgres_url),
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert second.returncode == 11, second.stderr
        assert "the daily job is already running" in second.stderr
        assert "held by server process" in second.stderr
        assert "unknown" not in second.stderr  # the holder's server pid is named
    finally:
        out, err = holder.communicate(input="", timeout=60)
    assert holder.returncode == 0, err
    assert out.strip() == "released"
    # released: the next run takes it
    with daily_lock(fresh_postgres_url, tmp_path / "host-b"):
        pass


def test_lock_dies_with_its_holder(fresh_postgres_url, tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, fresh_postgres_url, str(tmp_path / "a")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    engine = make_engine(fresh_postgres_url)
    try:
        with pytest.raises(AlreadyRunning) as caught, daily_lock(engine, tmp_path / "b"):
            pass
        assert caught.value.exit_code == 11
        holder.kill()  # no clean-up runs: the server frees the lock with the dead session
        holder.wait(timeout=30)
        # the server notices the closed socket within moments; allow it up to 10 s
        deadline = time.monotonic() + 10
        while True:
            try:
                with daily_lock(engine, tmp_path / "b"):
                    break
            except AlreadyRunning:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=30)
        engine.dispose()


def test_sqlite_keeps_the_file_lock(tmp_path):
    url = f"sqlite:///{tmp_path / 'stocky.db'}"
    with daily_lock(url, tmp_path):
        assert (tmp_path / "daily.lock").read_text() == str(os.getpid())
        with pytest.raises(AlreadyRunning, match="already running"), daily_lock(url, tmp_path):
            pass

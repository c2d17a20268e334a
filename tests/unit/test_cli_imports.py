"""What the CLI imports: a memory-backend study no SQL stack or MLflow, `--help` no pandas.

A study's CPU per cell process includes its imports: SQLAlchemy with its PostgreSQL dialect cost
~0.2 s and mlflow ~1.7 s, for a backend that uses neither. `stocky --help` (and the start of
every command) paid ~0.4 s for pandas and exchange_calendars imported at module level by
command modules that use them only inside their functions.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

KEPT_OFF_STUDY = ("sqlalchemy", "mlflow", "alembic", "stocky.adapters.store")
KEPT_OFF_HELP = (*KEPT_OFF_STUDY, "pandas", "exchange_calendars", "limits", "stocky.pipelines")

CODE = """
import json, sys
from stocky.cli.main import main

kept_off, sys.argv = json.loads(sys.argv[1]), ["stocky", *sys.argv[2:]]
try:
    main()
    code = 0
except SystemExit as exc:
    code = exc.code
print(json.dumps({
    "code": code,
    "loaded": sorted({m for m in sys.modules for k in kept_off if m == k or m.startswith(k + ".")}),
}))
"""


def _run(args: list[str], kept_off: tuple[str, ...], home: Path) -> dict[str, object]:
    env = os.environ | {
        "STOCKY_HOME": str(home),
        "STOCKY_PRICE_SOURCE": "synthetic",
        "STOCKY_SYNTHETIC_TICKERS": "2",
        "STOCKY_ORDER": "0,1,1",
    }
    out = subprocess.run(
        [sys.executable, "-c", CODE, json.dumps(kept_off), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=True,
    )
    result: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def test_a_memory_backend_study_imports_neither_sqlalchemy_nor_mlflow(tmp_path: Path) -> None:
    folder = tmp_path / "study"
    result = _run(
        [
            "study",
            "--start=2024-01-02",
            "--end=2024-03-28",
            "-t",
            "SYN0001",
            "--grid",
            "retrain=never,monthly",
            "--jobs=1",
            "--executor=local",
            f"--out={folder}",
        ],
        KEPT_OFF_STUDY,
        tmp_path / "home",
    )
    assert result["code"] == 0
    assert (folder / "policies.csv").is_file()  # the study ran its cells and wrote its table
    assert result["loaded"] == []


def test_help_imports_no_pandas_calendar_or_pipeline(tmp_path: Path) -> None:
    result = _run(["--help"], KEPT_OFF_HELP, tmp_path / "home")
    assert result["code"] == 0
    assert result["loaded"] == []

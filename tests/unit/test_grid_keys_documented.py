"""Every `--grid` key of `stocky study` is listed in `stocky study --help` and in the README
(a key the parser accepts but nobody can find is a key nobody uses)."""

from __future__ import annotations

import re
from pathlib import Path

from typer.testing import CliRunner

from stocky.cli.main import app
from stocky.pipelines.study import GRID_KEYS

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_grid_key_is_in_the_help_and_the_readme() -> None:
    result = CliRunner().invoke(app, ["study", "--help"], env={"COLUMNS": "400"})
    assert result.exit_code == 0, result.output
    help_text = re.sub(r"[\s│]+", " ", result.output)
    readme = README.read_text()
    study_row = next(line for line in readme.splitlines() if line.startswith("| `stocky study"))
    for key in GRID_KEYS:
        assert key in help_text, f"{key} missing from stocky study --help"
        assert f"`{key}`" in study_row, f"{key} missing from the README's stocky study row"

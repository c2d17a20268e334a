"""The four notebooks, executed top to bottom on the bundled data in their quick configuration.

Each notebook reads STOCKY_NB_QUICK=1 and shrinks its work (a 63-session test period, a few LSTM
epochs, fewer refits); together they run in well under three minutes on two cores. The kernel is
this interpreter: a `python3` kernelspec pointing at sys.executable is installed into a temporary
directory that JUPYTER_PATH puts ahead of any user or system kernelspec.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from importlib.util import find_spec
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.e2e

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
TIMEOUT = 600  # per cell; the slowest quick cell takes a few seconds

# notebook -> (patterns of the row labels, column labels) its final results table must show;
# the ARIMA orders are patterns because order selection picks them
ORDER = r"ARIMA\(\d, \d, \d\)"
EXPECTED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "1_eda": (
        (r"\^GSPC", r"\^IXIC", "MSFT"),
        ("sessions", "ann_vol_%", "excess_kurtosis", "lb10_p_squared", "adf_p_log_price"),
    ),
    "2_baseline": (
        ("naive", "drift", r"MA\(5\)", r"MA\(20\)", r"ARIMA\(0, 1, 0\)"),
        ("rmse", "mae", "mase", "skill", "dm_pvalue", "coverage"),
    ),
    "3_arima": (
        ("naive", rf"{ORDER} \(selected\)", rf"{ORDER} fixed", rf"{ORDER} refit every 21"),
        ("rmse", "mae", "skill", "dm_pvalue", "coverage", "refits"),
    ),
    "4_lstm": (
        ("naive", rf"{ORDER} fixed", "LSTM"),
        ("rmse", "mae", "skill", "dm_pvalue"),
    ),
}


def read(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


def code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


@pytest.fixture(scope="module")
def quick_kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A `python3` kernel running this interpreter, with the quick configuration in its env."""
    from ipykernel.kernelspec import install

    prefix = tmp_path_factory.mktemp("jupyter")
    install(prefix=str(prefix), kernel_name="python3")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JUPYTER_PATH", str(prefix / "share" / "jupyter"))
        mp.setenv("STOCKY_NB_QUICK", "1")
        mp.setenv("MPLBACKEND", "Agg")
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            mp.setenv(var, "1")
        yield


def execute(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Run every cell in the notebooks folder; a failing cell raises CellExecutionError."""
    client = NotebookClient(
        nb,
        timeout=TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    return nb


def test_notebooks_folder_holds_exactly_the_expected_notebooks() -> None:
    assert sorted(path.stem for path in NOTEBOOKS.glob("*.ipynb")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_stored_notebook_is_stripped_and_set_up(name: str) -> None:
    nb = read(name)
    nbformat.validate(nb)
    cells = code_cells(nb)
    dirty = [i for i, cell in enumerate(cells) if cell.outputs or cell.execution_count is not None]
    assert dirty == [], f"{name}: strip the outputs of code cells {dirty}"
    first = cells[0].source
    assert "limit_blas_threads(1)" in first
    assert "STOCKY_NB_QUICK" in first
    assert nb.cells[-1].cell_type == "markdown", "end with a short conclusion"


def test_kernel_runs_this_interpreter(quick_kernel: None) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print(sys.prefix)"))
    execute(nb)
    assert nb.cells[0].outputs[0]["text"].strip() == sys.prefix


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_notebook_runs_and_ends_with_its_results_table(name: str, quick_kernel: None) -> None:
    if name == "4_lstm" and find_spec("torch") is None:
        pytest.skip('torch is missing: install the lstm extra, pip install -e ".[lstm]"')
    nb = execute(read(name))

    cells = code_cells(nb)
    errors = [out for cell in cells for out in cell.outputs if out.output_type == "error"]
    assert errors == []
    results = [out for out in cells[-1].outputs if out.output_type == "execute_result"]
    assert results, f"{name}: the last code cell must display the results table"
    data = results[-1]["data"]
    assert "text/html" in data, f"{name}: the results table should be a DataFrame"
    text = data["text/plain"]
    rows, columns = EXPECTED[name]
    lines = text.splitlines()
    missing_rows = [row for row in rows if not any(re.match(row, line) for line in lines)]
    missing_columns = [column for column in columns if column not in text]
    assert missing_rows == [], f"{name}: rows {missing_rows} missing from\n{text}"
    assert missing_columns == [], f"{name}: columns {missing_columns} missing from\n{text}"

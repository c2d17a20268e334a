"""Execute the notebooks of `notebooks/` for the docs site, two kernels at a time, with a cache.

The notebooks are stored without outputs (a test checks it), so the site executes them at every
build, in their full configuration (STOCKY_NB_QUICK unset), with this interpreter as the kernel
and this checkout's `src/` first on its path. An executed copy is kept in `build/docs-notebooks/`
under a key of the notebook's bytes and every file of `src/stocky`: a rebuild with neither
changed reuses it. A cell that raises fails the build with the notebook, the cell and the error.

STOCKY_DOCS_NOTEBOOKS=skip renders them without outputs (a quick local preview; `make lint`
never sets it).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "notebooks"
CACHE = ROOT / "build" / "docs-notebooks"
TIMEOUT = 600  # seconds per cell

__all__ = ["NotebookFailed", "execute_all"]


class NotebookFailed(RuntimeError):
    """A notebook's cell raised while the site was built."""


def _key(notebook: Path) -> str:
    digest = hashlib.sha256(notebook.read_bytes())
    digest.update(Path(__file__).read_bytes())  # how they are executed
    for path in sorted((ROOT / "src" / "stocky").rglob("*")):
        if path.is_file() and path.suffix in {".py", ".j2", ".css", ".js", ".json"}:
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _execute(notebook: Path, out: Path) -> float:
    """Run every cell of `notebook` in a fresh kernel and write the result to `out`."""
    import nbformat
    from ipykernel.kernelspec import install
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="stocky-kernel-") as prefix:
        # a `python3` kernel that is this interpreter, ahead of any user or system kernelspec
        install(prefix=prefix, kernel_name="python3")
        os.environ["JUPYTER_PATH"] = str(Path(prefix) / "share" / "jupyter")
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        os.environ.pop("STOCKY_NB_QUICK", None)
        # figures as images in the outputs (MPLBACKEND=Agg, set for the tests, would drop them)
        os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = "1"
        nb = nbformat.read(notebook, as_version=4)
        client = NotebookClient(
            nb,
            timeout=TIMEOUT,
            kernel_name="python3",
            resources={"metadata": {"path": str(notebook.parent)}},
        )
        try:
            client.execute()
        except CellExecutionError as exc:
            raise NotebookFailed(
                f"notebooks/{notebook.name} failed while the docs were built: fix the notebook "
                f"(or the code it calls):\n{exc}"
            ) from None
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".partial")
    nbformat.write(nb, partial)
    partial.replace(out)
    return time.perf_counter() - started


def _run(notebook: Path, out: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, __file__, str(notebook), str(out)],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if result.returncode != 0:
        raise NotebookFailed(result.stderr[-6000:] or result.stdout[-6000:])
    return time.perf_counter() - started


def execute_all(jobs: int = 2) -> dict[str, Path]:
    """Every notebook executed: its path under docs/ ("notebooks/<name>.ipynb") -> the folder
    holding that path (the cache, or `notebooks/`'s parent when execution is skipped)."""
    notebooks = sorted(SOURCE.glob("*.ipynb"))
    if os.environ.get("STOCKY_DOCS_NOTEBOOKS") == "skip":
        print(
            "docs: STOCKY_DOCS_NOTEBOOKS=skip: notebooks rendered WITHOUT outputs", file=sys.stderr
        )
        return {f"notebooks/{nb.name}": ROOT for nb in notebooks}
    todo: dict[Path, Path] = {}
    found: dict[str, Path] = {}
    for notebook in notebooks:
        key = _key(notebook)
        folder = CACHE / key[:16]
        found[f"notebooks/{notebook.name}"] = folder
        if not (folder / "notebooks" / notebook.name).exists():
            todo[notebook] = folder / "notebooks" / notebook.name
    if todo:
        # each notebook in a process of its own (its kernel, event loop and ZMQ context)
        with ThreadPoolExecutor(max_workers=min(jobs, len(todo))) as pool:
            futures = {nb: pool.submit(_run, nb, out) for nb, out in todo.items()}
            for notebook, future in futures.items():
                seconds = future.result()
                print(
                    f"docs: executed notebooks/{notebook.name} in {seconds:.1f} s", file=sys.stderr
                )
        for stale in CACHE.iterdir():  # keep only the copies of this build
            if stale.is_dir() and stale not in set(found.values()):
                shutil.rmtree(stale)
    return found


if __name__ == "__main__":  # one notebook: `python notebooks.py NOTEBOOK OUT` (see _run)
    try:
        _execute(Path(sys.argv[1]), Path(sys.argv[2]))
    except NotebookFailed as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(1) from None

"""Import arch without matplotlib.

arch imports `matplotlib.figure` when it is installed, for a version check and type hints only
(its plots import pyplot when called); that is ~0.12 s of every process that fits a GARCH
interval, such as each study cell's process, which draws no matplotlib chart. Importing arch
while matplotlib is hidden takes arch's own no-matplotlib path; matplotlib stays importable
afterwards (a later `import matplotlib` loads it as usual).
"""

from __future__ import annotations

import sys

__all__ = ["import_arch_without_matplotlib"]


def import_arch_without_matplotlib() -> None:
    """Import `arch.univariate` with matplotlib hidden, unless either is loaded already."""
    if "arch.univariate.base" in sys.modules or "matplotlib" in sys.modules:
        return
    # None in sys.modules makes `import matplotlib` raise ImportError, which arch catches
    sys.modules["matplotlib"] = None  # type: ignore[assignment]
    try:
        import arch.univariate  # noqa: F401
    finally:
        if sys.modules.get("matplotlib", 0) is None:
            del sys.modules["matplotlib"]

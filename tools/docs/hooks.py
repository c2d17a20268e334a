"""MkDocs hooks of the docs site (mkdocs.yml `hooks:`).

- The reference pages (CLI, REST API, settings) are generated from the code at every build
  (`gen_reference.generate`) and added to the site as files of their own, so a stale page
  cannot exist; a setting without a description fails the build.
- The four notebooks of `notebooks/` are executed at every build (`notebooks.execute_all`,
  two kernels at a time, cached by content) and handed to mkdocs-jupyter with their outputs;
  a cell that raises fails the build.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import gen_reference  # noqa: E402  (beside this file, not a package)
import notebooks  # noqa: E402
from mkdocs.plugins import event_priority  # noqa: E402
from mkdocs.structure.files import File, Files  # noqa: E402


@event_priority(100)  # before mkdocs-jupyter's on_files, which turns .ipynb files into pages
def on_files(files: Files, config: Any) -> Files:
    for path, text in gen_reference.generate().items():
        if files.get_file_from_path(path) is not None:
            raise gen_reference.ReferenceError(
                f"docs/{path} exists, but the build generates it: delete the file"
            )
        files.append(File.generated(config, path, content=text))
    for path, executed in notebooks.execute_all().items():
        files.append(
            File(
                path,
                src_dir=str(executed),
                dest_dir=config["site_dir"],
                use_directory_urls=config["use_directory_urls"],
            )
        )
    return files

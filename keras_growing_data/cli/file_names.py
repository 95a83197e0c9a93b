"""How the command line names files: by their path in the watched folder (`dt=2026-12-01/part-0.csv`).

The library keeps absolute paths (in `accepted`, `rejected`, its log and its
reasons); the commands show each file below the folder they watch from
that folder, as `status` lists it, so that same-named files of a
date-partitioned tree are told apart, and a line stays short.
"""

import contextlib
import logging
import re
import sys
from collections.abc import Iterator

from keras_growing_data.sources.watcher import canonical_folder
from keras_growing_data.utils.printable import printable


def shown_from(folder: str, text: str) -> str:
    """`text` with each path below `folder` (absolute, as the library writes it) shown from `folder`.

    Only a path that begins the text or follows a space, a quote or a
    parenthesis is changed, so a longer folder that ends the same way
    (`/backup/data/incoming/...` for `/data/incoming`) is left as it is.
    """
    below = re.escape(printable(folder).rstrip("/") + "/")
    return re.sub(rf"(^|(?<=[\s'\"(])){below}", "", text, flags=re.MULTILINE)


class _FolderFormatter(logging.Formatter):
    """Formats a log line as `LEVEL: message`, with the paths below `folder` shown from it."""

    def __init__(self, folder: str | None):
        super().__init__("%(levelname)s: %(message)s")
        self.folder = None if folder is None else canonical_folder(folder)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        return line if self.folder is None else shown_from(self.folder, line)


@contextlib.contextmanager
def library_log_to_stderr(level: int, folder: str | None) -> Iterator[None]:
    """Shows the library's log at `level` and above (rejected files: warnings) on stderr.

    Args:
        level: the least level shown.
        folder: the watched folder, in any spelling, or `None`.
    """
    logger = logging.getLogger("keras_growing_data")
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(level)
    handler.setFormatter(_FolderFormatter(folder))
    logger.addHandler(handler)
    old_level = logger.level
    if level < logging.WARNING:
        logger.setLevel(level)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)

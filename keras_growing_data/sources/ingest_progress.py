"""How far a poll with many files to read has come: files, rows, MB/s and time left."""

import dataclasses
import logging
import time
from collections.abc import Callable

logger = logging.getLogger("keras_growing_data")

# A poll with this many files to read reports its progress.
REPORTED_FILES = 100
# Seconds between two progress lines on the logger.
LOG_EVERY_SECONDS = 10.0


@dataclasses.dataclass
class IngestProgress:
    """The progress of one poll through a backlog of files, reported as it goes.

    A line goes to the `keras_growing_data` logger every
    `LOG_EVERY_SECONDS` and at the end; `listener`, if given, is called
    after every file (a progress bar).

    Example:

    >>> progress = IngestProgress("incoming/", files=10_000, nbytes=2 << 30)
    >>> progress.advance(rows=800, nbytes=210_000)
    >>> progress.line()
    'incoming/: 1 of 10000 files read (800 rows), 0.2 MB/s, about ... left'

    Args:
        folder: the watched folder, as printed.
        files: files to read.
        nbytes: their bytes.
        listener: called with the progress after each file.
    """

    folder: str
    files: int
    nbytes: int
    listener: Callable[["IngestProgress"], None] | None = None
    files_done: int = 0
    rows: int = 0
    bytes_done: int = 0
    started: float = dataclasses.field(default_factory=time.monotonic)
    _logged: float = dataclasses.field(default_factory=time.monotonic)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    @property
    def bytes_per_second(self) -> float:
        return self.bytes_done / max(self.seconds, 1e-9)

    @property
    def seconds_left(self) -> float | None:
        """The time the bytes not yet read take at the rate so far; `None` before any byte."""
        if not self.bytes_done:
            return None
        return (self.nbytes - self.bytes_done) / self.bytes_per_second

    def advance(self, rows: int, nbytes: int) -> None:
        """Counts one more file read: its rows accepted (0 if not) and its bytes."""
        self.files_done += 1
        self.rows += rows
        self.bytes_done += nbytes
        if self.listener is not None:
            self.listener(self)
        # The last file's line is `finish`'s: logged here too, it would show twice.
        if self.files_done < self.files and time.monotonic() - self._logged >= LOG_EVERY_SECONDS:
            self._logged = time.monotonic()
            logger.info("%s", self.line())

    def finish(self) -> None:
        logger.info("%s", self.line())

    def line(self) -> str:
        left = self.seconds_left
        rest = "" if left is None or self.files_done == self.files else f", about {_duration(left)} left"
        return (
            f"{self.folder}: {self.files_done} of {self.files} files read ({self.rows} rows), "
            f"{self.bytes_per_second / 1e6:.1f} MB/s{rest}"
        )


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"

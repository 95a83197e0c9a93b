"""Polls a folder in a background thread while an epoch trains, giving way at each boundary."""

import contextlib
import logging
import threading
import time
from collections.abc import Callable

from keras_growing_data.sources.ingest import FolderIngest

logger = logging.getLogger("keras_growing_data")

# With `poll_interval`, this many complete files to read before training are a
# backlog: training starts once the first are in, the rest is read in the background.
BACKLOG_FILES = 100


class BackgroundPolls:
    """Calls `poll` every `interval` seconds in a thread, or at once again while `hurry()` says so.

    An epoch boundary takes the folder over for its own poll: within
    `boundary()`, the thread waits, and a poll under way stops after its
    file (the poll asks `at_boundary`), so a boundary waits at most for one
    file. An error in a poll is logged, never raised: the boundary polls
    again.

    Example:

    >>> polls = BackgroundPolls(lambda: data.poll(), interval=5.0)
    >>> polls.start()
    >>> with polls.boundary():
    ...     data.poll()
    >>> polls.stop()

    Args:
        poll: one poll; it may take a lock the boundary holds.
        interval: seconds between polls.
        hurry: whether to poll again without waiting (a backlog to read).
        name: the folder, for the log.
    """

    def __init__(
        self,
        poll: Callable[[], None],
        interval: float,
        hurry: Callable[[], bool] = lambda: False,
        name: str = "",
    ):
        self._poll = poll
        self._interval = interval
        self._hurry = hurry
        self._name = name
        self._stop = threading.Event()
        self._at_boundary = threading.Event()
        self._thread = None

    def at_boundary(self) -> bool:
        """Whether a boundary waits: a poll under way should stop after its file."""
        return self._at_boundary.is_set()

    @contextlib.contextmanager
    def boundary(self):
        """While it lasts, the thread gives way: a lock alone is not fair to the boundary."""
        self._at_boundary.set()
        try:
            yield
        finally:
            self._at_boundary.clear()

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="keras-growing-data-poll", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(0 if self._hurry() else self._interval):
            if self._at_boundary.is_set():
                time.sleep(0.001)
                continue
            try:
                self._poll()
            except Exception:  # A poll error must not kill training; the boundary polls again.
                logger.exception("Background poll of %s failed", self._name)


def first_rows_then_backlog(ingest: FolderIngest, progress: Callable | None = None) -> set[str]:
    """Polls until the first rows are in; returns the backlog left to the background polls.

    Fewer than `BACKLOG_FILES` complete files left to read are read now
    (none is left); more are a backlog, read in the background while
    training runs, each joining at the boundary after it was read.
    """
    ingest.poll(stop=lambda: ingest.num_rows > 0)  # Rejected files first cost one poll.
    if not ingest.pending:
        return set()
    if len(ingest.pending) < BACKLOG_FILES:
        ingest.poll(progress=progress)
        return set()
    logger.info(
        "Training starts with the %d rows read so far; %d more files (%.1f MB) are read in "
        "the background and join at the boundaries after.",
        ingest.num_rows,
        len(ingest.pending),
        sum(stat.size for stat in ingest.pending.values()) / 1e6,
    )
    return set(ingest.pending)

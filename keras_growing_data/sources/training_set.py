"""Which accepted files train: the interface of a training-set policy.

A policy is asked two things by the ingest: whether a file that arrives is
taken at all (`refusal`), and, after files joined or grew, which files in
training leave it for good (`files_leaving`), their rows freed from memory,
disk and `state_dir`. `KeepEverything` (the default) keeps every
file; `Window` keeps the newest within a bound.

To add a policy:

1. Subclass `TrainingSetPolicy` in a module of its own under `sources/`,
   named for the policy, and implement `refusal` and `files_leaving` (or keep the
   defaults: take every file, none leaves). Read the files through
   `FilesInTraining`, which reads a record's field only when asked, so a
   policy that looks at few files costs little however many train.
2. Set `keeps_every_file = False` if files may leave: the state then keeps
   the rows of each file where they can be deleted with it.
3. Accept it where `GrowingDataCallback` takes `window=` (the ingest's
   `policy`), export it from `keras_growing_data/__init__.py`, and test it
   alone on a `FilesInTraining` and through `GrowingDatasetTrainer` with
   exact rows per epoch.
"""

import time
from collections.abc import Iterable, Mapping, Sequence

# How far ahead of this machine's clock a modification time may be and still count as the newest
# file's: clocks of hosts that share a folder differ by this much at most when they are right.
FUTURE_TOLERANCE_SECONDS = 60.0


class FilesInTraining:
    """The accepted files in training, oldest first, as a policy sees them.

    Example:

    >>> files = FilesInTraining(ingest.accepted, ingest.in_window, ingest.num_rows)
    >>> len(files), files.rows[0], files.total_rows

    Args:
        records: path -> `AcceptedFile` of every accepted file.
        paths: the paths in training, in acceptance order.
        total_rows: the rows they hold in all.
    """

    def __init__(self, records: Mapping, paths: Sequence[str], total_rows: int):
        self.paths = paths
        self.total_rows = total_rows
        self.rows = _RecordField(records, paths, "rows")
        self.mtimes_ns = _RecordField(records, paths, "mtime_ns")

    def __len__(self) -> int:
        return len(self.paths)


class TrainingSetPolicy:
    """Decides which accepted files train: the interface of every policy, keeping all by default.

    Example:

    ```python
    class NewestFiles(TrainingSetPolicy):
        keeps_every_file = False

        def files_leaving(self, files):
            return range(max(0, len(files) - 10))
    ```
    """

    keeps_every_file = True

    def refusal(self, mtime_ns: int, newest_ns: int, newest_path: str | None = None) -> str | None:
        """Why a file last written at `mtime_ns` is not taken; `newest_ns` is the newest file's time.

        The newest file (`newest_path`) is the newest that joined training,
        not counting one dated in the future of this machine's clock (see
        `latest_plausible_ns`). A refused file is judged again, unread till
        then, once the policy would take it.
        """
        return None

    def files_leaving(self, files: FilesInTraining) -> Sequence[int]:
        """The positions in `files` (in acceptance order) of the files that leave training now.

        At most `len(files) - 1` of them: one file always stays.
        """
        return ()


def latest_plausible_ns() -> int:
    """The latest modification time that is not in the future of this machine's clock (give or take)."""
    return time.time_ns() + int(FUTURE_TOLERANCE_SECONDS * 1e9)


def newest_not_ahead(mtimes_ns: Iterable[int]) -> int | None:
    """The newest of these times that is not in the future of the clock; `None` if all are."""
    latest = latest_plausible_ns()
    return max((mtime for mtime in mtimes_ns if mtime <= latest), default=None)


class _RecordField(Sequence):
    """One field of the records of some paths, read when asked: a policy looks at few of them."""

    def __init__(self, records: Mapping, paths: Sequence[str], field: str):
        self._records = records
        self._paths = paths
        self._field = field

    def __len__(self) -> int:
        return len(self._paths)

    def __getitem__(self, i: int):
        return getattr(self._records[self._paths[i]], self._field)

"""Which files stay in training: the newest ones, within a bound of rows, files or age."""

import dataclasses
from collections.abc import Sequence

from keras_growing_data.sources.training_set import FilesInTraining, TrainingSetPolicy, newest_not_ahead
from keras_growing_data.utils.arguments import check_int, check_number
from keras_growing_data.utils.printable import printable


@dataclasses.dataclass(frozen=True)
class Window(TrainingSetPolicy):
    """A window of recent data: only the newest accepted files train.

    The window holds the newest files such that every bound given holds:
    at most `rows` rows and at most `files` files, the files accepted last
    (in the order they were accepted), and no file whose last write (its
    modification time, which a tailed file's appends move on) is more than
    `seconds` before the newest file's (not the clock's: a folder that
    goes quiet keeps training on its last data). So a log accepted first
    and appended to since stays while older files accepted after it
    leave. A file dated in the future of this machine's clock (by more
    than a minute: its writer's clock is wrong, or this one was set back)
    trains, and a warning names it, but does not count as the newest
    until the clock reaches its time: one wrong clock cannot push every
    other file out. One file always stays, even if it alone holds more
    than `rows`. Files leave training whole when a poll finds a bound
    passed (at a boundary, or in a background poll): the epoch training
    keeps their rows, the next one trains without them. Their memory and disk are freed once enough is
    dead to be worth the copy (see `RowStore.drop`), and their rows in
    `state_dir` with the segment that held them; `lineage` and the epoch
    logs (`rows`, `files`, `files_left`) show it. A file that is already older than `seconds`
    when it comes is rejected with that reason (naming the newest file), rather than read; it is
    judged again if the window would take it later (a larger `seconds` after a restart).

    Like TFX's `rolling_range` (the latest N spans) and Spark's
    `maxFileAge`; unlike a reservoir, every row in the window trains once
    per epoch.

    Example:

    ```python
    data = GrowingDataCallback(
        "incoming/", label="price", window=Window(files=500, seconds=7 * 86400)
    )
    ```

    Args:
        rows: the most rows to keep, or `None`.
        files: the most files to keep, or `None`.
        seconds: the most seconds a file's modification time may lie before
            the newest file's, or `None`.
    """

    rows: int | None = None
    files: int | None = None
    seconds: float | None = None
    keeps_every_file = False

    def __post_init__(self):
        if self.rows is None and self.files is None and self.seconds is None:
            raise ValueError("A Window needs a bound: rows=, files= or seconds=.")
        if self.rows is not None:
            check_int("Window rows", self.rows, minimum=1)
        if self.files is not None:
            check_int("Window files", self.files, minimum=1)
        if self.seconds is not None:
            check_number("Window seconds", self.seconds, positive=True)

    def refusal(self, mtime_ns: int, newest_ns: int, newest_path: str | None = None) -> str | None:
        """Why a file is not taken: it was last written more than `seconds` before the newest file."""
        if not self.too_old(mtime_ns, newest_ns):
            return None
        days = (newest_ns - mtime_ns) / 86400e9
        newest = "the newest file in training"
        if newest_path is not None:
            newest = f"{printable(newest_path)}, {newest}"
        return (
            f"is older than the window: it was last modified {days:.3g} days before {newest}, "
            f"more than Window(seconds={self.seconds:g}) allows"
        )

    def files_leaving(self, files: FilesInTraining) -> list[int]:
        """The positions of the files that leave; most calls look at none of them (see `leaving`)."""
        within = (self.files is None or len(files) <= self.files) and (
            self.rows is None or files.total_rows <= self.rows
        )
        if within and self.seconds is None:
            return []
        return self.leaving(files.rows, files.mtimes_ns, total_rows=files.total_rows)

    def too_old(self, mtime_ns: int, newest_ns: int) -> bool:
        """Whether a file written at `mtime_ns` lies outside `seconds` of the newest file's time."""
        return self.seconds is not None and newest_ns - mtime_ns > self.seconds * 1e9

    def leaving(
        self, rows: Sequence[int], mtimes_ns: Sequence[int], total_rows: int | None = None
    ) -> list[int]:
        """The positions of the files that leave, given the files' rows and last writes, in acceptance order.

        The `files` and `rows` bounds let the first accepted go; the
        `seconds` bound every file last written too long before the newest.
        Only the files that leave are looked at for the `files` and `rows`
        bounds (given `total_rows`, the sum of `rows`), so that a window
        sliding a file at a time costs little however many files it holds.
        """
        count = len(rows)
        if count <= 1:
            return []
        leave = 0
        if self.files is not None:
            leave = max(leave, count - self.files)
        if self.rows is not None:
            total = sum(rows) if total_rows is None else total_rows
            cut = 0
            while cut < count - 1 and total > self.rows:
                total -= rows[cut]
                cut += 1
            leave = max(leave, cut)
        leaving = set(range(min(leave, count - 1)))
        newest = None if self.seconds is None else newest_not_ahead(mtimes_ns)
        if newest is not None:
            leaving.update(i for i, mtime in enumerate(mtimes_ns) if self.too_old(mtime, newest))
            if len(leaving) == count:  # The first accepted are old by count, the last by age.
                leaving.discard(max(range(count), key=lambda i: mtimes_ns[i]))
        return sorted(leaving)

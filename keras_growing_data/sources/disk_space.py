"""A full disk while training: logged once when it starts, once when writing works again."""

import logging

from keras_growing_data.utils.printable import printable

logger = logging.getLogger("keras_growing_data")


class DiskSpace:
    """Whether writes fail for want of space now, so that a shortage is logged as an error once.

    Rows that find no room wait with their file, lines appended to a tailed
    file wait in it, and state changes wait in memory; all are written once
    space returns. Whichever write fails first logs the error, and the first
    write that works again logs that it ended.

    Example:

    >>> space = DiskSpace()
    >>> space.rows_wait("incoming/a.csv", "/state", "1.0 MiB", rows_training=100)
    >>> space.writes_again()
    """

    def __init__(self):
        self.short_in = None

    def rows_wait(self, path: str, where: str, needed: str, rows_training: int) -> None:
        if self._starts(where):
            logger.error(
                "No space left on the disk: %s cannot be kept (%s needed in %s). Training goes on "
                "with the %d rows it has; new files wait and join once space returns (logged once).",
                printable(path),
                needed,
                where,
                rows_training,
            )

    def appended_lines_wait(self, path: str, where: str) -> None:
        if self._starts(where):
            logger.error(
                "No space left on the disk in %s: the lines appended to %s wait, and join "
                "once space returns (logged once).",
                where,
                printable(path),
            )

    def state_waits(self, state_dir: str, error: Exception, changes: int) -> None:
        if self._starts(str(error)):
            logger.error(
                "Cannot save the state in %s (%s): training goes on; the %d changes are kept and "
                "saved once writing works again (logged once).",
                state_dir,
                error,
                changes,
            )

    def writes_again(self) -> None:
        """Notes that a write worked: after a shortage, says so, and the next shortage is logged again."""
        if self.short_in is not None:
            self.short_in = None
            logger.warning("Writing works again: new files join training and the state is saved.")

    def _starts(self, where: str) -> bool:
        started = self.short_in is None
        self.short_in = self.short_in or where
        return started

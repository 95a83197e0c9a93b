"""Storage that cannot be written (a full disk, ...) while training: logged once, and once when it ends."""

import logging

from keras_growing_data.utils.durable_write import is_no_space
from keras_growing_data.utils.printable import printable

logger = logging.getLogger("keras_growing_data")


class DiskSpace:
    """Whether writes to our own storage fail now, so that the failure is logged as an error once.

    A full disk is the common failure, but any error of `state_dir` or
    `storage_dir` (read-only, an I/O error, a folder replaced by a file)
    is the same to the files: rows that cannot be written wait with their
    file, lines appended to a tailed file wait in it, and state changes
    wait in memory; all are written once writing works again. Whichever
    write fails first logs the error, and the first write that works again
    logs that it ended.

    Example:

    >>> space = DiskSpace()
    >>> space.rows_wait("incoming/a.csv", "/state", "1.0 MiB", 100, OSError(28, "No space left"))
    >>> space.writes_again()
    """

    def __init__(self):
        self.short_in = None

    def rows_wait(self, path: str, where: str, needed: str, rows_training: int, error: BaseException) -> None:
        """Logs, if it starts a failure, that a file's rows (`needed` bytes) cannot be written `where`."""
        if not self._starts(where):
            return
        if is_no_space(error):
            cause = (
                f"No space left on the disk: {printable(path)} cannot be kept ({needed} needed in {where})"
            )
            again = "space returns"
        else:
            cause = f"Cannot write to {where} ({error_text(error)}): {printable(path)} cannot be kept"
            again = "writing works again"
        logger.error(
            "%s. Training goes on with the %d rows it has; new files wait and join once %s (logged once).",
            cause,
            rows_training,
            again,
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


def error_text(error: BaseException) -> str:
    """An error as a log says it: a TensorFlow `OpError` by its message, others as they print."""
    return getattr(error, "message", None) or str(error)

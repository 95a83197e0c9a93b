"""Every exception the package raises, all derived from `GrowingDataError`.

Catch `GrowingDataError` for any of them. Each also keeps its built-in base
(`ValueError`, `OSError`, `RuntimeError`, `TimeoutError`), so code that
catches those catches them as before. This module imports nothing from the
package, so every layer can raise its errors.
"""

from collections.abc import Sequence
from typing import Protocol

from keras_growing_data.utils.printable import patterns_text


class GrowingDataError(Exception):
    """The base of every exception class of keras_growing_data: catch it to catch any of them."""


# Files and their ingest.


class BadFileError(GrowingDataError, ValueError):
    """A file that cannot be ingested; the message says why."""


class NoDataRowsError(BadFileError):
    """A file with a header but no data row yet: a file that is tailed waits for one."""


class VanishedFileError(BadFileError):
    """A file that was deleted or renamed away while it was read."""


class UnfinishedFileError(BadFileError):
    """A file whose end is not there yet (maybe still being written): never moved; judged again once changed.

    A Parquet file without its footer raises it; an archive cut short, its subclass.
    """


class TruncatedArchiveError(UnfinishedFileError):
    """An archive that ends before its end-of-stream marker: maybe still being written, so never moved."""


class UnreadableFileError(GrowingDataError, OSError):
    """A file that cannot be read now (permissions, I/O, the network): it is tried again later."""


class DamagedStateError(GrowingDataError, ValueError):
    """A state folder whose files do not match their records; the message names the file."""


class StorageWriteError(GrowingDataError, RuntimeError):
    """Our own storage (`storage_dir`, `state_dir`) cannot be written now: the file read waits.

    Not an `OSError`, so that reading a file does not take it for an error
    of the file's own; `error` is the `OSError` of the write.
    """

    def __init__(self, where: str, error: OSError):
        self.where = where
        self.error = error
        super().__init__(f"cannot write to {where}: {error.strerror or error}")


class UnwritableStateError(GrowingDataError, OSError):
    """A `state_dir` this process cannot write from the start (read-only, not a folder); says what to do."""


class BadValueError(GrowingDataError, ValueError):
    """A raw value to predict on that the ingest would reject (missing without a default, not of its type)."""


# Training.


class _Rejected(Protocol):
    """What `NoRowsError` reads of a rejected file (a `RejectedFile`)."""

    @property
    def path(self) -> str: ...

    @property
    def reason(self) -> str: ...


class NoRowsError(GrowingDataError, ValueError):
    """A folder that gave no training rows: its files were rejected, are unfinished, or absent.

    The first line of the message says which, with the reasons of the
    rejected files. Waiting is suggested only when it can help: when a file
    is still being written or none is there yet.

    Args:
        directory: the watched folder.
        pattern: the file name pattern.
        rejected: the folder's rejected files.
        pending: paths of matching files not settled yet.
        waited: seconds already waited.
        wait_hint: how to ask for a wait, in the caller's words.
    """

    SHOWN = 10  # Rejected files listed in the message at most.

    def __init__(
        self,
        directory: str,
        pattern: str | Sequence[str],
        rejected: Sequence[_Rejected],
        pending: Sequence[str],
        waited: float = 0,
        wait_hint: str = "pass wait_for_data=seconds",
    ):
        self.directory = directory
        self.pattern = pattern
        self.rejected = tuple(rejected)
        self.pending = tuple(pending)
        self.waited = waited
        super().__init__(self.explain(wait_hint))

    def explain(self, wait_hint: str) -> str:
        """The message, with `wait_hint` saying how to wait (an argument or a command-line option)."""
        where = f"No training rows in {self.directory!r}"
        if self.waited:
            where += f" after waiting {self.waited:g} s"
        rejected, pending = self.rejected, self.pending
        waiting = f"{wait_hint} to wait for {'it' if len(pending) == 1 else 'them'}"
        if not rejected and pending:
            return f"{where}: {_files(len(pending))} still being written (not settled yet); {waiting}."
        if not rejected:
            matches = f"no file matches {patterns_text(self.pattern)} yet"
            return f"{where}: {matches}; {wait_hint} to wait for the first files."
        first = rejected[0]
        if len(rejected) == 1:
            lines = [f"{where}: 1 file was rejected, {self._name(first.path)}: {first.reason}"]
        else:
            first_reason = f"the first {self._name(first.path)}: {first.reason}"
            lines = [f"{where}: {len(rejected)} files were rejected, {first_reason}"]
            lines += [f"  rejected {self._name(r.path)}: {r.reason}" for r in rejected[1 : self.SHOWN]]
            if len(rejected) > self.SHOWN:
                lines.append(f"  and {len(rejected) - self.SHOWN} more rejected files")
        if pending:
            lines.append(f"{_files(len(pending))} still being written; {waiting}.")
        return "\n".join(lines)

    def _name(self, path: str) -> str:
        """A file as seen from the folder (`dt=2026-12-01/part-0.csv`): same-named files stay apart."""
        folder = self.directory.rstrip("/") + "/"
        return path[len(folder) :] if path.startswith(folder) else path


def _files(n: int) -> str:
    return "1 file is" if n == 1 else f"{n} files are"


# Several workers.


class SnapshotError(GrowingDataError, RuntimeError):
    """A worker cannot train on the chief's epoch snapshot; the message says why."""


class SnapshotTimeoutError(SnapshotError, TimeoutError):
    """A follower waited too long for the chief's snapshot of an epoch."""

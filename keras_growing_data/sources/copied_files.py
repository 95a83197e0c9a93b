"""Tells the copy of a tailed log: one rotated by copying and truncating it (logrotate's `copytruncate`)."""

import dataclasses
import logging
from collections.abc import Sequence

from keras_growing_data.errors import UnreadableFileError
from keras_growing_data.sources.records import AcceptedFile
from keras_growing_data.sources.tail import TailState, first_line
from keras_growing_data.sources.tailed_files import TailedFiles
from keras_growing_data.sources.training_files import TrainingFiles
from keras_growing_data.sources.verdicts import Verdicts, record_json
from keras_growing_data.sources.watcher import FileStat, FolderWatcher
from keras_growing_data.utils.printable import printable

logger = logging.getLogger("keras_growing_data")


class CopiedFiles:
    """Recognises the copies of tailed files, so that their lines train once: a copytruncate rotation.

    logrotate's `copytruncate` copies the log `app.csv` to
    `app-20261201.csv` (a new inode), then truncates `app.csv` in place,
    where its writer goes on. A file not accepted whose bytes, up to where a
    tailed file was read, are the bytes read (`TailState.held_by`: as many,
    with the same checksums of the first and last 4 KiB) is a copy of it:

    - while the tailed file still holds those bytes, the copy is not read
      (its rows would train twice): it waits, logged once;
    - once the tailed file (the same inode) no longer holds them, it was
      truncated, so the rotation happened: its record, rows, place in the
      order and tail move to the copy, as a rename's do (`SameFiles`), and
      the copy's lines past those bytes are read as appended lines. The
      truncated path is free: what is written there next is a new file,
      whose first read takes the log's header where it has none (the
      copy's tail keeps it, `TailState.continued_at` and `header`; see
      `TailedFiles.continued_header`).

    Example:

    >>> copies = CopiedFiles(watcher, verdicts, files, tailed, changes=[])
    >>> copies.follow_rotations(watcher.listed)
    ['logs/app-20261201.csv']

    Args:
        watcher: tells what a tailed path holds now.
        verdicts: the accepted files' records, by path, and the waiting ones.
        files: the accepted files' order and rows, which follow a rotation.
        tailed: the tails, which follow a rotation.
        changes: the state changes not yet saved, which a rotation adds to.
    """

    def __init__(
        self,
        watcher: FolderWatcher,
        verdicts: Verdicts,
        files: TrainingFiles,
        tailed: TailedFiles,
        changes: list[dict],
    ):
        self.watcher = watcher
        self.verdicts = verdicts
        self.files = files
        self.tailed = tailed
        self.changes = changes
        self._logged = set()  # (copy, tailed path) of the copies whose wait was logged.

    def waits(self, stat: FileStat) -> bool:
        """Whether a file not accepted is a copy of a tailed file that still holds the bytes read.

        Such a copy waits (`Verdicts.wait`), unread, until the tailed file is truncated.
        """
        copied = self._copied(stat)
        if copied is None:
            return False
        reason = (
            f"is a copy of the tailed {printable(copied)} (it begins with the "
            f"{self.tailed.tail_of(copied).offset} bytes read from it): not read, so that its rows do not "
            "train twice, until that file is truncated (logrotate's copytruncate)"
        )
        self.verdicts.wait(stat, reason, logging.DEBUG)
        if (stat.path, copied) not in self._logged:
            self._logged.add((stat.path, copied))
            logger.info("%s %s", printable(stat.path), reason)
        return True

    def _copied(self, stat: FileStat) -> str | None:
        """The tailed file that `stat` is a copy of, if it is one."""
        if not stat.inode or stat.problem:
            return None
        for path, tail in self.tailed.identities():
            if not _same_inode(stat, self.verdicts.accepted[path]) and tail.held_by(stat.path, stat.size):
                return path
        return None

    def follow_rotations(self, listed: Sequence[FileStat]) -> list[str]:
        """Moves each truncated tailed file to its copy among `listed`; returns the copies' paths.

        A tailed file truncated with no copy listed is left to `TailedFiles`,
        which warns that it shrank and stops tailing it.
        """
        rotated = []
        for path, tail in self.tailed.identities():
            record = self.verdicts.accepted[path]
            try:
                stat = self.watcher.current(path)
            except UnreadableFileError:
                continue
            if stat is None or stat.version == record.version or not _same_inode(stat, record):
                continue  # Gone, as last read, or replaced: none of it was truncated.
            if tail.held_by(path, stat.size):
                continue  # Appended to.
            copy = self._copy_of(tail, record, listed)
            if copy is not None and self._rotate(path, copy, tail):
                rotated.append(copy.path)
        return rotated

    def _copy_of(self, tail: TailState, record: AcceptedFile, listed: Sequence[FileStat]) -> FileStat | None:
        """The listed file not accepted that holds the bytes read from `record`'s file, looked at now."""
        for stat in listed:
            if stat.path in self.verdicts.accepted or not stat.inode or _same_inode(stat, record):
                continue
            try:
                now = self.watcher.current(stat.path)  # A copy listed while it was written is longer now.
            except UnreadableFileError:
                continue
            if now is not None and not now.problem and tail.held_by(now.path, now.size):
                return now
        return None

    def _rotate(self, old: str, copy: FileStat, tail: TailState) -> bool:
        """Takes a truncated file's record, rows and tail to its copy; the old path is free.

        Returns False if the copy could not be read now (tried again at the next poll).
        """
        try:
            header = tail.header or first_line(copy.path, tail.offset).decode("utf-8", "surrogateescape")
        except OSError:
            return False
        record = dataclasses.replace(
            self.verdicts.accepted[old],
            path=copy.path,
            inode=copy.inode,
            device=copy.device,
            ctime_ns=copy.ctime_ns,
        )
        if old in self.tailed.left:
            # Not read any more: the copy as it is now is the version kept, so that it is not taken
            # for a change of the file (a tailed copy's record follows its reads instead).
            record = dataclasses.replace(record, size=copy.size, mtime_ns=copy.mtime_ns)
        self.verdicts.move(old, record)
        self.files.rename(old, copy.path)
        self.tailed.rename(old, copy.path)
        moved = dataclasses.replace(tail, header=header, continued_at=old)
        self.tailed.replace(copy.path, moved)
        self._logged = {(path, tailed) for path, tailed in self._logged if path != copy.path}
        self.changes.append({"type": "move", "from": old, "file": record_json(record)})
        self.changes.append({"type": "append", "file": record_json(record), "tail": moved.to_json()})
        logger.info(
            "%s was rotated by copying and truncating it (logrotate's copytruncate): its %d rows are "
            "accepted under its copy %s, %s; what is written to %s now is a new file, read under the "
            "log's header if it does not begin with it",
            printable(old),
            record.rows,
            printable(copy.path),
            f"tailed there from byte {tail.offset}"
            if copy.path in self.tailed.states
            else "out of training as the log was",
            printable(old),
        )
        return True


def _same_inode(stat: FileStat, record: AcceptedFile) -> bool:
    return (stat.inode, stat.device) == (record.inode, record.device)

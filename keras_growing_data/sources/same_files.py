"""Tells an accepted file listed under another path: moved, renamed by a log rotation, or linked."""

import dataclasses
import logging

from keras_growing_data.errors import UnreadableFileError
from keras_growing_data.sources.tailed_files import TailedFiles
from keras_growing_data.sources.training_files import TrainingFiles
from keras_growing_data.sources.verdicts import Verdicts, record_json
from keras_growing_data.sources.watcher import FileStat, FolderWatcher
from keras_growing_data.utils.printable import printable

logger = logging.getLogger("keras_growing_data")


class SameFiles:
    """Recognises the accepted files listed under a second path, so that their rows are never read twice.

    A file is its content's identity, not its name. Locally, a path that
    holds the device and inode of an accepted file is that file:

    - while the accepted path still holds it, the second path is a link to
      it (a hard link, a symbolic link such as `latest.csv`): it is noted
      in `links` (path -> the accepted path), logged once, and never read;
    - once the accepted path no longer holds it, it was moved (`mv` within
      the folder, a log rotation that renames): its record, its rows, its
      place in the order and its tail follow the new path, logged once, and
      the old path is free for a new file. So that a recycled inode number
      is not taken for a moved file, the file must still have the size and
      modification time that were read or, if it is tailed, still begin
      with the bytes read (which lines appended since follow).

    Where the file system gives no inode (URLs), a path is a file: a copy
    or a move there is read as a new file.

    Example:

    >>> same = SameFiles(watcher, verdicts, files, tailed, changes=[])
    >>> same.recognise(watcher.current("incoming/latest.csv"))
    True
    >>> same.links
    {'incoming/latest.csv': 'incoming/a.csv'}

    Args:
        watcher: tells what an accepted path holds now.
        verdicts: the accepted files' records, by path and by identity.
        files: the accepted files' order and rows, which follow a move.
        tailed: the tails, which follow a move.
        changes: the state changes not yet saved, which a move adds to.
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
        self._links = {}  # Path -> (the accepted path, the version of the link seen).

    @property
    def links(self) -> dict[str, str]:
        """Path -> the accepted path it is a link to."""
        return {path: accepted for path, (accepted, _) in self._links.items()}

    def recognise(self, stat: FileStat) -> bool:
        """Whether a listed path that is not accepted holds an accepted file (linked, or moved there).

        A path whose accepted file cannot be looked at now counts as one,
        until a later poll can tell.
        """
        if not stat.inode or stat.problem:
            return False
        link = self._links.get(stat.path)
        if link is not None and link[1] == stat.version:
            return True
        accepted = self.verdicts.by_identity.get((stat.device, stat.inode))
        if accepted is None or accepted == stat.path:
            self._links.pop(stat.path, None)
            return False
        try:
            held = self.watcher.current(accepted)
        except UnreadableFileError:
            return True
        if held is not None and (held.device, held.inode) == (stat.device, stat.inode):
            if link is None or link[0] != accepted:
                logger.info(
                    "%s is the same file as %s (a link to it: the same inode); its rows are not read again",
                    printable(stat.path),
                    printable(accepted),
                )
            self._links[stat.path] = (accepted, stat.version)
            return True
        self._links.pop(stat.path, None)
        if not self._moved(stat, accepted):
            return False  # A recycled inode number: another file.
        self._move(accepted, stat)
        return True

    def _moved(self, stat: FileStat, accepted: str) -> bool:
        """Whether `stat` is the accepted file as it was read: its size and time, or its tail's bytes."""
        record = self.verdicts.accepted[accepted]
        tail = self.tailed.tail_of(accepted)
        if tail is None:
            return (stat.size, stat.mtime_ns) == (record.size, record.mtime_ns)
        return tail.held_by(stat.path, stat.size)

    def _move(self, old: str, stat: FileStat) -> None:
        """Takes an accepted file's record, rows and tail to its new path; the old path is free."""
        # A rename changes the ctime alone: the file is still the version read.
        record = dataclasses.replace(self.verdicts.accepted[old], path=stat.path, ctime_ns=stat.ctime_ns)
        self.verdicts.move(old, record)
        self.files.rename(old, stat.path)
        self.tailed.rename(old, stat.path)
        self._links = {
            path: (stat.path if accepted == old else accepted, version)
            for path, (accepted, version) in self._links.items()
        }
        self.changes.append({"type": "move", "from": old, "file": record_json(record)})
        logger.info(
            "%s was moved to %s (the same inode, and the content read): its %d rows are not read again; "
            "it is accepted under its new path%s",
            printable(old),
            printable(stat.path),
            record.rows,
            ", and tailed there" if stat.path in self.tailed.states else "",
        )

"""The accepted files that are tailed: how far each was read, and the complete lines appended since."""

import dataclasses
import logging
from collections.abc import Callable, Sequence

from keras_growing_data.errors import UnreadableFileError
from keras_growing_data.formats.file_format import FileFormat
from keras_growing_data.formats.schema import Schema
from keras_growing_data.sources.disk_space import DiskSpace
from keras_growing_data.sources.tail import Appended, TailState, is_tailable, read_appended
from keras_growing_data.sources.training_files import TrainingFiles
from keras_growing_data.sources.verdicts import Verdicts, record_json
from keras_growing_data.sources.watcher import FileStat, FolderWatcher
from keras_growing_data.utils.durable_write import is_no_space
from keras_growing_data.utils.printable import printable

logger = logging.getLogger("keras_growing_data")


class TailedFiles:
    """Path -> `TailState` of each accepted file that is tailed (`appends="tail"`), in acceptance order.

    At each poll, what was appended to each one is read from where the last
    read stopped, up to its last newline, and its rows join as a piece of
    their own (`TrainingFiles.add_appended`). A file that shrinks, is
    replaced, or whose part already read changes is warned about once and
    no longer tailed; its rows stay.

    Example:

    >>> tailed = TailedFiles(csv_format, watcher, files, verdicts, changes=[], space=DiskSpace())
    >>> tailed.read_appends(schema, skip_bad_rows=False, partition=lambda stat: {})
    1

    Args:
        file_format: reads the appended lines (it must tail: `FileFormat.tails`).
        watcher: tells a file's size and identity now.
        files: where the appended rows are kept.
        verdicts: the accepted files' records, which grow with their lines.
        changes: the state changes not yet saved, which each read adds to.
        space: notes a full disk.
    """

    def __init__(
        self,
        file_format: FileFormat,
        watcher: FolderWatcher,
        files: TrainingFiles,
        verdicts: Verdicts,
        changes: list[dict],
        space: DiskSpace,
    ):
        self.format = file_format
        self.watcher = watcher
        self.files = files
        self.verdicts = verdicts
        self.changes = changes
        self.space = space
        self.states = {}
        self.paused = {}  # Path -> the saved tail of a file not tailed now (`appends="warn"` after `"tail"`).
        # Path -> the tail of a file that left training: no longer read, but kept so that a move or a
        # rotation of it is still told from a new file (`SameFiles`, `CopiedFiles`); else the rotated
        # log would be read again, and its old path, where the new log lands, never freed.
        self.left = {}

    def leave(self, path: str) -> None:
        """Stops reading a file that left training; its tail still tells it (`left`)."""
        tail = self.states.pop(path, None) or self.paused.pop(path, None)
        if tail is not None:
            self.left[path] = tail

    def tail_of(self, path: str) -> TailState | None:
        """How far the accepted file at `path` was read, whether it is tailed now, paused or left."""
        return self.states.get(path) or self.paused.get(path) or self.left.get(path)

    def identities(self) -> list[tuple[str, TailState]]:
        """The files whose tail tells their copies: those tailed now and those that left training."""
        return [*self.states.items(), *self.left.items()]

    def replace(self, path: str, tail: TailState) -> None:
        """Puts `tail` in place of the tail of `path`, where that one is kept."""
        next(by_path for by_path in (self.states, self.paused, self.left) if path in by_path)[path] = tail

    def can_tail(self, path: str) -> bool:
        """Whether a new file is tailed: its format tails, and it is a plain local file."""
        return self.format.tails_file(path) and is_tailable(path)

    def read(
        self,
        stat: FileStat,
        schema: Schema,
        skip_bad_rows: bool,
        partition: dict[str, str],
        until: int | None = None,
    ) -> Appended:
        """What was appended to a tailed file since its last read, up to its last newline (or `until`)."""
        record = self.verdicts.accepted[stat.path]
        tail = self.states[stat.path]
        return read_appended(self.format, stat, record, tail, schema, skip_bad_rows, partition, until=until)

    def read_appends(
        self, schema: Schema, skip_bad_rows: bool, partition: Callable[[FileStat], dict[str, str]]
    ) -> int:
        """Reads the complete lines appended to the tailed files; returns how many files grew.

        Never raises for a file: one that cannot be read now (or whose
        rows find no room) is looked at again at the next poll.
        """
        grown = 0
        for path in list(self.states):
            try:
                stat = self.watcher.current(path)
            except UnreadableFileError:
                continue
            if stat is None or stat.version == self.verdicts.accepted[path].version:
                continue  # Gone (its rows stay), or as last read.
            try:
                grown += self.take(stat, self.read(stat, schema, skip_bad_rows, partition(stat)), schema)
            except Exception as e:
                if is_no_space(e):
                    self.space.appended_lines_wait(path, self.files.writing_to)
                elif isinstance(e, OSError):
                    logger.warning(
                        "Cannot take what was appended to %s now (%s); trying again at the next poll",
                        printable(path),
                        e,
                    )
                else:
                    logger.exception("Unexpected error reading what was appended to %s", printable(path))
        return grown

    def take(self, stat: FileStat, appended: Appended, schema: Schema) -> bool:
        """Keeps what `read` found; returns whether rows joined."""
        record = self.verdicts.accepted[stat.path]
        tail, parsed = appended.tail, appended.parsed
        if tail.stopped:
            del self.states[stat.path]
            self.verdicts.no_longer_read(stat.path)
            self.changes.append({"type": "append", "file": record_json(record), "tail": tail.to_json()})
            logger.warning(
                "%s %s; it is no longer tailed, and its %d rows stay as they were",
                printable(stat.path),
                tail.stopped,
                record.rows,
            )
            return False
        rows = 0 if parsed is None else parsed.num_rows
        skipped = () if parsed is None else parsed.skipped
        record = dataclasses.replace(
            record,
            rows=record.rows + rows,
            size=stat.size,
            mtime_ns=stat.mtime_ns,
            ctime_ns=stat.ctime_ns,
            skipped=record.skipped + skipped,
        )
        entry = {"type": "append", "file": record_json(record), "tail": tail.to_json()}
        if rows:
            rows_ref, new_strings = self.files.add_appended(
                stat.path, parsed, schema, tail.offset, record.mtime_ns
            )
            if rows_ref is not None:
                entry["rows_ref"] = rows_ref
            if new_strings:
                entry["strings"] = new_strings
        else:
            self.files.note_skipped(stat.path, len(skipped), record.mtime_ns)
        self.space.writes_again()
        self.verdicts.accepted[stat.path] = record
        self.states[stat.path] = tail
        self.changes.append(entry)
        if rows:
            logger.info("Appended to %s: %d rows (%d in all)", printable(stat.path), rows, record.rows)
        return bool(rows)

    def rename(self, old: str, new: str) -> None:
        """Follows a tailed file that moved from `old` to `new` (a log rotation), in its place."""
        for by_path in (self.states, self.paused, self.left):
            items = [(new if path == old else path, tail) for path, tail in by_path.items()]
            by_path.clear()
            by_path.update(items)

    def continued_header(self, path: str) -> bytes | None:
        """The header of the log a copytruncate rotation copied away from `path`, if it did (`CopiedFiles`).

        What is written at `path` next goes on with that log: its first read
        takes this header where the file does not begin with it.
        """
        for _, tail in self.identities():
            if tail.continued_at == path:
                return tail.header_bytes()
        return None

    def saved(self, path: str) -> dict:
        """How far a file was tailed, as the state keeps it with its record."""
        tail = self.tail_of(path)
        return {} if tail is None else {"tail": tail.to_json()}

    def set_state(self, saved: list[dict], follow: bool = True, left: Sequence[dict] = ()) -> None:
        """Takes up tailing the files in training whose saved tail had not stopped.

        Unless `follow` (tailing is switched off now): their tails are then
        kept as saved, in `paused`, and taken up by a later run that tails.
        The tails of the files that `left` training go back to `left`.
        """
        for items, by_path in ((saved, self.states if follow else self.paused), (left, self.left)):
            for item in items:
                tail = item.get("tail")
                if tail is not None and tail["stopped"] is None:
                    by_path[item["path"]] = TailState(**tail)

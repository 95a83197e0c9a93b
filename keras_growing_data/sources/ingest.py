"""Decides, once per file version, whether a file's rows join training."""

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Collection, Sequence

import tensorflow as tf

from keras_growing_data.errors import (
    BadFileError,
    DamagedStateError,
    NoDataRowsError,
    TruncatedArchiveError,
    UnreadableFileError,
)
from keras_growing_data.formats.column_names import header_names
from keras_growing_data.formats.partitions import partition_values
from keras_growing_data.formats.schema import Schema
from keras_growing_data.sources.column_vocabularies import ColumnVocabularies
from keras_growing_data.sources.ingest_progress import REPORTED_FILES, IngestProgress
from keras_growing_data.sources.lineage import Lineage
from keras_growing_data.sources.quarantine import quarantine_file
from keras_growing_data.sources.records import (
    AcceptedFile,
    EpochLineage,
    RejectedFile,
    WaitingFile,
    records_of,
)
from keras_growing_data.sources.tail import TailState, complete_end, is_tailable, read_appended
from keras_growing_data.sources.training_set import FilesInTraining
from keras_growing_data.sources.watcher import FileStat
from keras_growing_data.storage.disk_store import DiskRowStore
from keras_growing_data.utils.arguments import check_bool, check_choice
from keras_growing_data.utils.durable_write import is_no_space
from keras_growing_data.utils.printable import excerpt, printable
from keras_growing_data.utils.process_memory import release_parse_memory

logger = logging.getLogger("keras_growing_data")

# Accepted files looked at again per poll, for the warning that one changed.
RECHECKS_PER_POLL = 64
# A file that cannot be read now, or kept for want of space, is tried again
# after 1, 2, 4, ... seconds, at most this long.
MAX_RETRY_SECONDS = 300.0
# Rows a restart reads at once into a disk store.
RESTORE_BATCH_BYTES = 256 << 20
# With a window, files accepted in one poll before the window is applied
# again: a backlog far larger than the window never sits in memory whole.
WINDOW_SLACK_FILES = 64


class FolderIngest:
    """Ingests the complete files of a folder into a `RowStore`, each once.

    Each poll asks the watcher for complete files and reads the new ones. A
    file is accepted whole, or rejected whole with its reason (logged as a
    warning); a rejected file is judged again only once it changes. An
    accepted file is never read again: if it changes, a warning says so and
    its rows stay as they were. With `state_dir`, all of this, the parsed
    rows and each epoch's lineage survive a crash and a restart.

    `FolderIngest` coordinates the parts it is handed (`IngestParts`,
    built from `GrowingDataCallback`'s arguments by `build_ingest` in
    `sources/ingest_parts.py`, whose table says which part owns each
    argument) and keeps the rules of its verdicts.

    Example:

    >>> ingest = FolderIngest(ingest_parts("incoming/", label="price", settle_seconds=0))
    >>> ingest.poll()
    ['incoming/part-0.csv']
    >>> ingest.num_rows, ingest.rejected

    Args:
        parts: the watcher, format, store, training-set policy and
            manifest (`None`: no state across restarts).
        on_bad_file: `"reject"` (keep a bad file in `rejected`, log a
            warning) or `"quarantine"` (also move it to `_rejected/` in the
            folder, with a `.reason.txt` file beside it; only a regular file
            whose content is bad is moved).
        on_bad_row: `"reject"` rejects a file with any bad line; `"skip"`
            keeps its good lines, records each bad one (see
            `AcceptedFile.skipped`) and counts them in the epoch logs
            (`rows_skipped`).
        partition_columns: whether Hive-style folder names give columns: a
            file in `dt=2026-12-01/hour=03/` gets the columns `dt` and
            `hour`, the same value in every row (unescaped as Hive writes
            them: `%20` is a space). They are typed like any column
            (declared in `columns`, or inferred from the first file: `hour`
            float32, `dt` string) and may not be in the file as well.
        appends: what happens when lines are appended to an accepted file
            (a logger writing one file a day). `"warn"` (default): a
            warning says the change is not read; the file's rows stay as
            they were. `"tail"`: every complete new line joins at the next
            epoch boundary, exactly once, read from the byte where the last
            read stopped (nothing is read twice); a partial last line waits
            until its newline comes. A file that shrinks, is replaced, or
            whose part already read changes is warned about, keeps its rows
            and is no longer tailed; so is one with a bad new line (with
            `on_bad_row="skip"`, the bad line is skipped instead). Plain
            local files are tailed; a compressed file is read once. The
            offsets survive a restart with `state_dir`.
    """

    def __init__(
        self,
        parts,
        on_bad_file: str = "reject",
        on_bad_row: str = "reject",
        partition_columns: bool = False,
        appends: str = "warn",
    ):
        self.watcher = parts.watcher
        self.directory = self.watcher.directory
        self.format = parts.file_format
        self.store = parts.store
        self.policy = parts.policy
        self.manifest = parts.manifest
        self.on_bad_file = check_choice("on_bad_file", on_bad_file, ("reject", "quarantine"))
        self.on_bad_row = check_choice("on_bad_row", on_bad_row, ("reject", "skip"))
        self.partition_columns = check_bool("partition_columns", partition_columns)
        self.appends = check_choice("appends", appends, ("warn", "tail"))
        self._tails = {}  # Path -> `TailState` of each accepted file that is tailed (plain, local).
        # With "tail", the store's pieces in order, as (path, end offset, rows): what a follower reproduces.
        self.piece_ends = []
        self.schema = self.format.declared
        self.vocabularies = ColumnVocabularies()
        self._ignored_logged = set()
        self.accepted = {}
        self.rejected = {}
        self.waiting = {}
        self.pending = {}
        self._report = None  # The progress of reading a backlog, until it is read.
        self._accepted_paths = []
        self._rows_refs = {}  # Where each accepted file's rows are in `state_dir`.
        self._pieces_of = {}  # The store's pieces of each file in training.
        self.lineage = Lineage(self._accepted_paths, self.directory)
        self._first = 0  # The first accepted file still in training: those before left the window.
        self._newest_mtime_ns = 0  # Of the files that joined the window.
        self._rows_skipped = 0
        self._changed_after_accept = {}
        self._recheck_from = 0
        self._unsaved = []  # Journal records not yet written (the disk was full).
        self._short_of_space = None  # What a full disk stopped, while it does.
        if self.manifest is not None:
            self.manifest.open_for_writing()
            self._restore()

    @property
    def num_rows(self) -> int:
        return self.store.num_rows

    @property
    def labels(self) -> list[str]:
        return self.format.labels

    @property
    def columns(self) -> tuple[str, ...] | None:
        """The schema's columns, once there is a schema."""
        return None if self.schema is None else self.schema.names

    @property
    def in_window(self) -> list[str]:
        """The accepted files in training now, in acceptance order: all, or the window's."""
        return self._accepted_paths[self._first :]

    @property
    def files_left(self) -> int:
        """How many accepted files left the window."""
        return self._first

    @property
    def tails(self) -> dict[str, TailState]:
        """Path -> how far each tailed file was read (`appends="tail"`)."""
        return self._tails

    @property
    def skip_bad_rows(self) -> bool:
        return self.on_bad_row == "skip"

    @property
    def rows_skipped(self) -> int:
        return self._rows_skipped

    @property
    def rows_version(self) -> int:
        """Changes whenever rows join: a dataset built at one version serves until the next."""
        return self.store.version

    def dataset(self, batch_size: int, shuffle: bool, transform) -> tf.data.Dataset:
        """Batches of every accepted row, once per pass (see `RowStore.dataset`)."""
        return self.store.dataset(batch_size, shuffle, transform=transform)

    def reseed(self, seed: int) -> None:
        """Makes the next pass's shuffle a function of `seed` alone."""
        self.store.reseed(seed)

    def poll(
        self,
        max_seconds: float | None = None,
        skip: Collection[str] = (),
        progress: Callable[[IngestProgress], None] | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> list[str]:
        """Ingests every complete new file; returns the accepted paths.

        Accepted files are looked at again (to warn when one changed) at most
        `RECHECKS_PER_POLL` a poll, in turn, and the state written is what
        changed, so that a poll's cost does not grow with the files taken.
        The files left to read (by `max_seconds` or `skip`) are in `pending`.
        A poll with `REPORTED_FILES` or more to read reports its progress
        (see `IngestProgress`).

        Args:
            max_seconds: stop reading files once this long has passed (after
                one file at least); `None` reads them all.
            skip: paths of files not to read in this poll.
            progress: called with the `IngestProgress` after each file, when reported.
            stop: called after each file read: the poll reads no more once it returns True.
        """
        # Measured on TF 2.21, 2 cores: a stat costs ~5 us, and re-stating
        # 1,000 accepted files cost ~17 ms a poll, a third of an epoch over
        # their 8,000 rows.
        started = time.monotonic()
        try:
            stats = self.watcher.complete_files(skip=self.accepted.keys(), recheck=self._rechecked())
        except OSError as e:  # The folder itself cannot be listed now; files wait for the next poll.
            logger.warning(
                "Cannot list %s now: %s; trying again at the next poll", printable(self.directory), e
            )
            return []
        if self.schema is None:
            # The schema comes from the oldest file, so a stray newer one cannot set it.
            stats = sorted(stats, key=lambda stat: (stat.mtime_ns, stat.path))
        to_read = []
        for stat in stats:
            if stat.path in self.accepted:
                if stat.path not in self._tails:
                    self._warn_if_changed(stat)
            elif not _same_version(stat, self.rejected.get(stat.path)) and self._due(stat, started):
                to_read.append(stat)
        listed = {stat.path for stat in stats}
        for path in [path for path in self.waiting if path not in listed]:
            del self.waiting[path]  # Gone, or being written again: judged anew when complete.
        self.pending = {stat.path: stat for stat in to_read}
        to_read = [stat for stat in to_read if stat.path not in skip]
        report = self._report_of(to_read, progress)
        new = []
        for stat in to_read:
            rows = self.num_rows
            accepted = self._judge(stat)
            del self.pending[stat.path]
            if report is not None:
                report.advance(self.num_rows - rows, stat.size)
            if accepted:
                new.append(stat.path)
                if len(new) % WINDOW_SLACK_FILES == 0:
                    self._apply_window()
            if max_seconds is not None and time.monotonic() - started >= max_seconds:
                break
            if stop is not None and stop():
                break
        if report is not None and not self.pending:
            report.finish()
            self._report = None
        grown = self._read_appends()
        if new or grown:
            self._apply_window()
        if to_read or grown:
            release_parse_memory()
        self._save()
        return new

    def _report_of(self, to_read: list[FileStat], listener) -> IngestProgress | None:
        """The progress report of a poll with `REPORTED_FILES` to read or more.

        One report lasts until nothing is pending, so that a backlog read in
        slices (`max_seconds`) is one report, logged every so often, not one per slice.
        """
        report = self._report
        if report is None and len(to_read) >= REPORTED_FILES:
            nbytes = sum(stat.size for stat in to_read)
            report = self._report = IngestProgress(printable(self.directory), len(to_read), nbytes)
        elif report is not None:
            report.files = report.files_done + len(self.pending)
            report.nbytes = report.bytes_done + sum(stat.size for stat in self.pending.values())
        if report is not None:
            report.listener = listener
        return report

    def _rechecked(self) -> list[str]:
        """The accepted paths this poll looks at again: the next few in turn."""
        paths = self._accepted_paths
        if len(paths) <= RECHECKS_PER_POLL:
            return paths
        start = self._recheck_from % len(paths)
        stop = self._recheck_from = start + RECHECKS_PER_POLL
        return paths[start:stop] + paths[: max(0, stop - len(paths))]

    def _due(self, stat: FileStat, now: float) -> bool:
        """Whether a file is to be judged now: it is not waiting, or its wait is over, or it changed."""
        waiting = self.waiting.get(stat.path)
        return waiting is None or waiting.retry_at <= now or waiting.version != stat.version

    def ingest_files(self, stats: Sequence[FileStat], quarantine: bool = True) -> list[str]:
        """Ingests exactly these file versions, in this order, without scanning the folder.

        For a worker that must take the files another process accepted
        (`follower_ingest.ingest_snapshot`). Returns the accepted paths; the
        others land in `rejected` (or `waiting`), as in `poll()`, and are
        moved only with `quarantine` (and `on_bad_file="quarantine"`).
        """
        new = [stat.path for stat in stats if self._judge(stat, quarantine, follow=True)]
        if stats:
            release_parse_memory()
            self._save()
        return new

    def record_epoch(self, epoch: int) -> EpochLineage:
        """Notes that epoch `epoch` trains on everything in training now."""
        counts = (len(self._accepted_paths), self.num_rows, self.rows_skipped, self._first)
        self.lineage.record(epoch, *counts)
        self._unsaved.append({"type": "epoch", "epoch": epoch, "lineage": _lineage_json(counts)})
        self._save()
        return self.lineage[epoch]

    def take_piece(self, stat: FileStat, end: int) -> int:
        """Reads a file up to byte `end`: whole if new, else what was appended; returns the rows taken.

        For a follower worker, which takes exactly the pieces its chief took
        (`appends="tail"`). A file that cannot be taken lands in `rejected`
        (or `waiting`), as in `poll()`; nothing is quarantined.
        """
        if stat.path not in self.accepted:
            return self.accepted[stat.path].rows if self._judge(stat, False, end, follow=True) else 0
        rows = self.accepted[stat.path].rows
        tail = self._tails.get(stat.path)
        if tail is None:
            return 0
        appended = read_appended(
            self.format,
            stat,
            self.accepted[stat.path],
            tail,
            self.schema,
            self.skip_bad_rows,
            self._partition(stat),
            until=end,
        )
        self._take_appended(stat, self.accepted[stat.path], appended)
        self._save()
        return self.accepted[stat.path].rows - rows

    def _judge(
        self, stat: FileStat, quarantine: bool = True, end: int | None = None, follow: bool = False
    ) -> bool:
        """Ingests one file version; whatever goes wrong with it, lands it in `rejected` or `waiting`."""
        try:
            return self._ingest(stat, quarantine, end, follow)
        except UnreadableFileError as e:  # Its stat failed now (an NFS hiccup): not a verdict.
            self._wait(stat, str(e), logging.WARNING)
            return False
        except MemoryError:
            self._wait(stat, "not enough memory to read it now", logging.WARNING)
            return False
        except Exception as e:  # poll() must never raise for a file.
            logger.exception("Unexpected error judging %s", printable(stat.path))
            self._reject(stat, f"cannot be judged: {type(e).__name__}: {excerpt(str(e))}", quarantine=False)
            return False

    def _ingest(
        self, stat: FileStat, quarantine: bool = True, end: int | None = None, follow: bool = False
    ) -> bool:
        """Judges one file version, and takes it in if it is good (see `_judge`).

        With `appends="tail"`, a plain local file is read up to its last
        newline, or to `end` (where the chief stopped, for a follower, which
        also takes its files whatever their age: `follow`).
        """
        if stat.problem:
            self._reject(stat, stat.problem, quarantine=False)  # Only regular files are moved.
            return False
        refusal = None if follow else self.policy.refusal(stat.mtime_ns, self._newest_mtime_ns)
        if refusal is not None:
            self._reject(stat, refusal, quarantine=False)
            return False
        tailed = self.appends == "tail" and self.format.tails and is_tailable(stat.path)
        if not tailed:
            end = None
        elif end is None:
            end = complete_end(stat.path, 0, stat.size)  # Up to the last complete line.
            if end == 0:
                self._wait(stat, "has no complete line yet", logging.DEBUG)
                return False
        try:
            parsed = self.format.read(
                stat.path, self.schema, self.skip_bad_rows, self._partition(stat), end=end
            )
            tail = TailState.of(stat.path, end, parsed.lines) if tailed else None
        except UnreadableFileError as e:
            changed = self._changed_reason(stat, tailed_to=end)
            if changed:
                self._reject(stat, changed, quarantine=False)
            else:
                self._wait(stat, str(e), logging.WARNING)
            return False
        except BadFileError as e:
            if tailed and isinstance(e, NoDataRowsError):
                self._wait(stat, "has no complete data row yet", logging.DEBUG)  # Tailed: rows will come.
                return False
            changed = self._changed_reason(stat, tailed_to=end)
            # A truncated archive may be one still written (slower than settle_seconds): it stays put.
            moved = quarantine and not changed and not isinstance(e, TruncatedArchiveError)
            self._reject(stat, changed or str(e), quarantine=moved)
            return False
        except OSError:  # The tail's checksums: the file went away after it was read.
            self._reject(
                stat, self._changed_reason(stat, tailed_to=end) or "vanished while being read", False
            )
            return False
        changed = self._changed_reason(stat, parsed.size, tailed_to=end)
        if changed:
            self._reject(stat, changed, quarantine=False)
            return False
        record = AcceptedFile(
            stat.path,
            parsed.num_rows,
            stat.size,
            stat.mtime_ns,
            parsed.skipped,
            parsed.ignored,
            inode=stat.inode,
            device=stat.device,
            ctime_ns=stat.ctime_ns,
        )
        needed = sum(array.nbytes for array in parsed.arrays.values())
        where = self.manifest.state_dir if self.manifest is not None else None
        rows_ref = None
        try:
            rows_ref = None if where is None else self.manifest.rows.write(parsed.arrays, parsed.strings)
            where = getattr(self.store, "folder", "memory")
            new_strings = self._accept(record, parsed.schema, parsed.arrays, parsed.strings)
        except Exception as e:
            if rows_ref is not None:
                self.manifest.rows.discard(rows_ref)  # Else each retry would keep another copy.
            if not is_no_space(e):
                raise
            self._out_of_space(stat, where, needed)
            return False
        self._space_again()
        self.waiting.pop(stat.path, None)
        self.rejected.pop(stat.path, None)
        if rows_ref is not None:
            rows_ref["end"] = end if end is not None else stat.size
        self._rows_refs[stat.path] = [rows_ref]
        entry = {**_record_json(record), "rows_ref": rows_ref}
        if self.appends == "tail":
            self.piece_ends.append((stat.path, end if end is not None else stat.size, parsed.num_rows))
        if tail is not None:
            self._tails[stat.path] = tail
            entry["tail"] = tail.to_json()
            if end < stat.size:
                logger.info(
                    "%s: its last line has no newline yet; it joins once it ends", printable(stat.path)
                )
        journal = {"type": "accept", "file": entry}
        if new_strings:
            journal["strings"] = new_strings
        self._unsaved.append(journal)
        logger.info(
            "Accepted %s: %d rows%s (%d rows from %d files in all)",
            printable(stat.path),
            parsed.num_rows,
            f", {len(parsed.skipped)} bad rows skipped" if parsed.skipped else "",
            self.num_rows,
            len(self.accepted),
        )
        for note in parsed.notes:
            logger.warning("%s: %s", printable(stat.path), note)
        if parsed.ignored and parsed.ignored not in self._ignored_logged:
            self._ignored_logged.add(parsed.ignored)
            logger.info(
                "Ignoring the columns %s of %s, which the schema does not have (not logged again "
                "for files with the same ones; each file's record lists them)",
                header_names(parsed.ignored),
                printable(stat.path),
            )
        return True

    def _accept(self, record: AcceptedFile, schema: Schema, arrays: dict, strings: dict) -> dict:
        """Adds a file's rows (see `_keep_rows`); returns the strings new to the vocabularies."""
        if self.schema is None:
            self.schema = schema
            self._unsaved.append({"type": "schema", "schema": schema.to_json()})
            logger.info("Schema inferred from %s: %s", printable(record.path), schema.dtypes)
        pieces, new_strings = self._keep_rows(arrays, strings)
        self.accepted[record.path] = record
        self._joined(record, pieces)
        return new_strings

    def _keep_rows(self, arrays: dict, strings: dict) -> tuple[list[int], dict[str, list[str]]]:
        """Stores rows, their string ids made the vocabularies' (`ColumnVocabularies.keep`)."""
        return self.vocabularies.keep(self.schema, arrays, strings, self._store_owned)

    def _store_owned(self, arrays: dict) -> list[int]:
        return self.store.append(arrays, owned=True)

    def _joined(self, record: AcceptedFile, pieces: list[int]) -> None:
        """Notes that an accepted file's rows, these pieces of the store, train from now on."""
        self._accepted_paths.append(record.path)
        self._pieces_of[record.path] = pieces
        self._rows_skipped += len(record.skipped)
        self._newest_mtime_ns = max(self._newest_mtime_ns, record.mtime_ns)

    def _apply_window(self) -> None:
        """Lets the oldest files leave training where the policy says so."""
        files = FilesInTraining(self.accepted, self.in_window, self.num_rows)
        self.leave_before(self._first + self.policy.files_to_drop(files))

    def leave_before(self, first: int) -> None:
        """Takes the accepted files before the `first` out of training: their rows are freed.

        The window does so itself (`window`); a follower worker calls it with
        its chief's window edge. Their rows in `state_dir` are deleted once
        the state that says they left is saved.
        """
        if first <= self._first:
            return
        leaving = self._accepted_paths[self._first : first]
        self.store.drop([piece for path in leaving for piece in self._pieces_of.get(path, ())])
        for path in leaving:
            if self._pieces_of.pop(path, None) is not None:
                self._rows_skipped -= len(self.accepted[path].skipped)
            self._tails.pop(path, None)
        refs = [ref for path in leaving for ref in self._rows_refs.pop(path, ())]
        if self.manifest is not None:
            self.manifest.rows.release(refs)
        if self.piece_ends:
            gone = set(leaving)
            self.piece_ends = [piece for piece in self.piece_ends if piece[0] not in gone]
        self._first = first
        self._unsaved.append({"type": "leave", "first": first})
        logger.info(
            "%d files left the window (%s ... %s); %d rows from %d files train",
            len(leaving),
            printable(leaving[0]),
            printable(leaving[-1]),
            self.num_rows,
            len(self.in_window),
        )

    def note_left(self, path: str, rows: int, size: int, mtime_ns: int) -> None:
        """Records a file that another process accepted and that left its window before this one read it.

        For a follower worker that joins late: it never reads such a file
        (it may be deleted by now), but counts it, so that its files stay
        in the chief's order.
        """
        record = AcceptedFile(path, rows, size, mtime_ns)
        self.accepted[path] = record
        self._accepted_paths.append(path)
        self._unsaved.append({"type": "accept", "file": {**_record_json(record), "rows_ref": None}})

    def vocabulary(self, name: str) -> list[str]:
        """The strings of column `name`: item i is the string of id i, item 0 `"[UNK]"`."""
        return self.vocabularies.strings(name)

    def _changed_reason(
        self, stat: FileStat, size_read: int | None = None, tailed_to: int | None = None
    ) -> str | None:
        """Why the file is not the version that was listed, if it is not.

        A file tailed up to byte `tailed_to` may grow while read: it must only
        still be the same file, and hold those bytes.
        """
        now = self.watcher.current(stat.path)
        if now is None:
            return "vanished while being read"
        if tailed_to is not None:
            if (now.inode, now.device) != (stat.inode, stat.device):
                return "was replaced by another file while being read"
            if now.size < tailed_to:
                return f"shrank while being read (size {stat.size} -> {now.size} bytes)"
        elif now.version != stat.version:
            return f"changed while being read (size {stat.size} -> {now.size} bytes)"
        expected = stat.size if tailed_to is None else tailed_to
        if size_read not in (None, expected):
            return f"changed while being read ({size_read} bytes read, {expected} listed)"
        return None

    def _partition(self, stat: FileStat) -> dict[str, str]:
        """The columns a file's folders give it, if `partition_columns`."""
        return partition_values(self.watcher.relative(stat.path)) if self.partition_columns else {}

    def _read_appends(self) -> int:
        """Reads the complete lines appended to the tailed files in training; returns how many files grew."""
        grown = 0
        for path in list(self._tails):  # The tailed files in training, in acceptance order.
            try:
                stat = self.watcher.current(path)
            except UnreadableFileError:
                continue  # Looked at again at the next poll.
            record = self.accepted[path]
            if stat is None or stat.version == record.version:
                continue  # Gone (its rows stay), or as last read.
            try:
                appended = read_appended(
                    self.format,
                    stat,
                    record,
                    self._tails[path],
                    self.schema,
                    self.skip_bad_rows,
                    self._partition(stat),
                )
                grown += self._take_appended(stat, record, appended)
            except Exception as e:  # poll() must never raise for a file; it is looked at again next poll.
                if is_no_space(e):
                    if self._short_of_space is None:
                        self._short_of_space = self._where_rows_go()
                        logger.error(
                            "No space left on the disk in %s: the lines appended to %s wait, and join "
                            "once space returns (logged once).",
                            self._short_of_space,
                            printable(path),
                        )
                elif isinstance(e, OSError):
                    logger.warning(
                        "Cannot take what was appended to %s now (%s); trying again at the next poll",
                        printable(path),
                        e,
                    )
                else:
                    logger.exception("Unexpected error reading what was appended to %s", printable(path))
        return grown

    def _where_rows_go(self) -> str:
        """Where new rows are written: the state folder, else the store's."""
        if self.manifest is not None:
            return self.manifest.state_dir
        return getattr(self.store, "folder", "memory")

    def _take_appended(self, stat: FileStat, record: AcceptedFile, appended) -> bool:
        """Keeps what `read_appended` found; returns whether rows joined."""
        tail, parsed = appended.tail, appended.parsed
        if tail.stopped:
            del self._tails[stat.path]
            self._changed_after_accept[stat.path] = stat
            self._unsaved.append({"type": "append", "file": _record_json(record), "tail": tail.to_json()})
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
        rows_ref = None
        new_strings = {}
        if rows:
            if self.manifest is not None:
                rows_ref = {**self.manifest.rows.write(parsed.arrays, parsed.strings), "end": tail.offset}
            new_strings = self._store_appended(record, parsed, rows_ref)
            self.piece_ends.append((stat.path, tail.offset, rows))
        self._space_again()
        self.accepted[stat.path] = record
        self._tails[stat.path] = tail
        self._rows_skipped += len(skipped)
        self._newest_mtime_ns = max(self._newest_mtime_ns, record.mtime_ns)
        entry = {"type": "append", "file": _record_json(record), "tail": tail.to_json()}
        if rows_ref is not None:
            entry["rows_ref"] = rows_ref
        if new_strings:
            entry["strings"] = new_strings
        self._unsaved.append(entry)
        if rows:
            logger.info("Appended to %s: %d rows (%d in all)", printable(stat.path), rows, record.rows)
        return bool(rows)

    def _store_appended(self, record: AcceptedFile, parsed, rows_ref: dict | None) -> dict:
        """Adds the rows appended to an accepted file, as a piece of its own; returns the new strings."""
        try:
            [piece], new_strings = self._keep_rows(parsed.arrays, parsed.strings)
        except BaseException:
            if rows_ref is not None:
                self.manifest.rows.discard(rows_ref)
            raise
        self._pieces_of[record.path].append(piece)
        self._rows_refs[record.path].append(rows_ref)
        return new_strings

    def _wait(self, stat: FileStat, reason: str, level: int) -> WaitingFile:
        """Sets a file aside for a while: it is tried again later, never rejected for this."""
        before = self.waiting.get(stat.path)
        attempts = 1 if before is None else before.attempts + 1
        delay = min(MAX_RETRY_SECONDS, 2.0 ** (attempts - 1))
        waiting = WaitingFile(stat.path, reason, attempts, time.monotonic() + delay, stat.version)
        self.waiting[stat.path] = waiting
        logger.log(
            level,
            "Cannot take %s now: %s; trying again in %g s (attempt %d)",
            printable(stat.path),
            reason,
            delay,
            attempts,
        )
        return waiting

    def _out_of_space(self, stat: FileStat, where: str, needed: int) -> None:
        """A file whose rows found no room: it waits; the first of a shortage is logged as an error."""
        first = self._short_of_space is None
        self._short_of_space = self._short_of_space or where
        self._wait(stat, f"no space left to keep its rows ({_size(needed)}) in {where}", logging.DEBUG)
        if first:
            logger.error(
                "No space left on the disk: %s cannot be kept (%s needed in %s). Training goes on "
                "with the %d rows it has; new files wait and join once space returns (logged once).",
                printable(stat.path),
                _size(needed),
                where,
                self.num_rows,
            )

    def _space_again(self) -> None:
        """Notes that a write worked again, after a shortage: the next shortage is logged again."""
        if self._short_of_space is not None:
            self._short_of_space = None
            logger.warning("Writing works again: new files join training and the state is saved.")

    def _reject(self, stat: FileStat, reason: str, quarantine: bool = True) -> None:
        """Sets a file aside; a file that changed while read is never moved (it is in flux)."""
        moved_to = None
        if quarantine and self.on_bad_file == "quarantine":
            moved_to = quarantine_file(self.directory, stat.path, reason)
        self.waiting.pop(stat.path, None)
        record = RejectedFile(
            stat.path,
            reason,
            stat.size,
            stat.mtime_ns,
            moved_to,
            inode=stat.inode,
            device=stat.device,
            ctime_ns=stat.ctime_ns,
        )
        self.rejected[stat.path] = record
        self._unsaved.append({"type": "reject", "file": _record_json(record)})
        where = f" (moved to {printable(moved_to)})" if moved_to else ""
        logger.warning("Rejected %s%s: %s", printable(stat.path), where, reason)

    def _warn_if_changed(self, stat: FileStat) -> None:
        accepted = self.accepted[stat.path]
        if _same_version(stat, accepted) or self._changed_after_accept.get(stat.path) == stat:
            return
        self._changed_after_accept[stat.path] = stat
        logger.warning(
            "%s changed after it was accepted (or was replaced by another file); its %d accepted rows "
            "stay as they were and the change is not read (write new data to a new file)",
            printable(stat.path),
            accepted.rows,
        )

    def _save(self) -> None:
        """Writes the changes not yet saved; with no room, keeps them for the next save."""
        if self.manifest is None or not self._unsaved:
            return
        try:
            if self.manifest.started:
                self.manifest.append(self._unsaved, snapshot=self._state_json)
            else:
                self.manifest.start(self._state_json())
        except (OSError, tf.errors.OpError) as e:
            if self._short_of_space is None:
                self._short_of_space = str(e)
                logger.error(
                    "Cannot save the state in %s (%s): training goes on; the %d changes are kept and "
                    "saved once writing works again (logged once).",
                    self.manifest.state_dir,
                    e,
                    len(self._unsaved),
                )
            return
        self._unsaved = []
        self.manifest.rows.delete_released()
        self._space_again()

    def _state_json(self) -> dict:
        """The whole state, as a snapshot keeps it."""
        return {
            "directory": self.directory,
            "labels": self.format.labels,
            "schema": None if self.schema is None else self.schema.to_json(),
            "read_with": self._read_with(),
            "accepted": [self._accepted_json(record) for record in self.accepted.values()],
            "first": self._first,
            "vocabularies": self.vocabularies.get_state(),
            "rejected": [_record_json(r) for r in self.rejected.values()],
            "epochs": {str(epoch): _lineage_json(self.lineage.counts(epoch)) for epoch in self.lineage},
        }

    def _accepted_json(self, record: AcceptedFile) -> dict:
        """An accepted file as the state keeps it: its record, where its rows are, how far it was tailed."""
        refs = self._rows_refs.get(record.path) or [None]
        entry = {**_record_json(record), "rows_ref": refs[0]}
        if len(refs) > 1:
            entry["appends"] = refs[1:]
        if record.path in self._tails:
            entry["tail"] = self._tails[record.path].to_json()
        return entry

    def _restore(self) -> None:
        state = self.manifest.load()
        if state is None:
            return
        where = self.manifest.path
        if state["directory"] != self.directory:
            raise ValueError(
                f"{where} was written for the folder {state['directory']!r}, "
                f"not {self.directory!r}; use another state_dir."
            )
        if state["labels"] != self.format.labels:
            raise ValueError(
                f"{where} was written for labels {state['labels']}, not {self.format.labels}; "
                "use another state_dir."
            )
        if state["read_with"] != self._read_with():
            raise ValueError(
                f"{where} was written for columns, defaults and na_values "
                f"{state['read_with']}, not {self._read_with()}: its rows were read by other rules; "
                "use another state_dir."
            )
        saved = state["schema"] and Schema.from_json(state["schema"], self.format.labels)
        if saved:
            self.schema = saved
        accepted, self.rejected = records_of(state)
        self._first = first = state.get("first", 0)
        self._accepted_paths.extend(accepted)
        self.accepted.update(accepted)
        vocabularies = state.get("vocabularies")
        if vocabularies is not None:  # Their rows renumber into them: ids stay, whatever rows left.
            self.vocabularies.set_state(vocabularies)
        in_window = state["accepted"][first:]
        for item in in_window:
            if item["rows_ref"] is None:
                raise DamagedStateError(
                    f"{where} records no saved rows for {item['path']}, which is in training: the state "
                    "cannot be trusted. Move the state_dir away to start afresh."
                )
            self._rows_refs[item["path"]] = [item["rows_ref"], *item.get("appends", ())]
            self._pieces_of[item["path"]] = []
            tail = item.get("tail")
            if tail is not None and tail["stopped"] is None:
                self._tails[item["path"]] = TailState(**tail)
        # In the order they were written, which is the order they joined the store.
        pieces = sorted(
            ((path, ref) for path, refs in self._rows_refs.items() for ref in refs),
            key=lambda piece: (int(piece[1]["segment"].split(".")[0]), piece[1]["offset"]),
        )
        for batch in self._restore_batches(pieces):
            self._restore_rows(batch)
        for item in in_window:
            record = accepted[item["path"]]
            rows = sum(ref["arrays"][0][2] for ref in self._rows_refs[record.path])
            if rows != record.rows:
                raise DamagedStateError(
                    f"The saved rows of {record.path} hold {rows} rows, its record {record.rows}: "
                    "the state cannot be trusted. Move the state_dir away to start afresh."
                )
            self._rows_skipped += len(record.skipped)
            self._newest_mtime_ns = max(self._newest_mtime_ns, record.mtime_ns)
        self.manifest.rows.keep_only(ref for _, ref in pieces)
        for epoch, counts in state["epochs"].items():
            self.lineage.record(int(epoch), *counts)
        if vocabularies is None:
            # A state from before the vocabularies were saved: saved now, before a window lets
            # the rows that hold their strings go.
            self.manifest.compact(self._state_json())
        self._apply_window()  # A smaller window than the last run's.
        self._save()
        logger.info(
            "Restored %d accepted files (%d rows in training%s) and %d rejected files from %s",
            len(self.accepted),
            self.num_rows,
            f"; {first} files left the window" if first else "",
            len(self.rejected),
            self.manifest.state_dir,
        )

    def _restore_batches(self, pieces: list[tuple[str, dict]]) -> list[list[tuple[str, dict]]]:
        """The saved pieces of rows, `(path, ref)`, in groups that are read and stored at once.

        In memory, one group: a restart at 100k files takes seconds. On disk,
        groups of `RESTORE_BATCH_BYTES`, so that restoring needs no more memory
        than that, however large the rows.
        """
        if not isinstance(self.store, DiskRowStore):
            return [pieces] if pieces else []
        batches, size = [], math.inf
        for piece in pieces:
            if size >= RESTORE_BATCH_BYTES:
                batches.append([])
                size = 0
            batches[-1].append(piece)
            size += piece[1]["bytes"]
        return batches

    def _restore_rows(self, pieces: list[tuple[str, dict]]) -> None:
        """Reads, checks and stores these saved pieces of rows, in one read and one append."""
        arrays, read = self.manifest.rows.read_all(pieces)
        start = 0
        for rows, strings in read:
            if "string" in arrays:
                self.vocabularies.renumber(self.schema, arrays["string"][start : start + rows], strings)
            start += rows
        ids = self.store.append(arrays, owned=True, pieces=[rows for rows, _ in read])
        for (path, ref), piece in zip(pieces, ids, strict=True):
            self._pieces_of[path].append(piece)
            if self.appends == "tail":
                # A file accepted before it was tailed was read whole.
                end = ref.get("end", self.accepted[path].size)
                self.piece_ends.append((path, end, ref["arrays"][0][2]))

    def _read_with(self) -> dict:
        """The rules rows are read by, as saved: a restart must read by the same."""
        declared = self.format.declared
        rules = {
            "columns": None if declared is None else declared.to_json(),
            "defaults": {name: _json_value(v) for name, v in self.format.defaults.items()},
            "na_values": sorted(self.format.na_values),
        }
        if self.partition_columns:  # Only then, so that the states saved before it was an option still fit.
            rules["partition_columns"] = True
        return rules


def _lineage_json(counts: tuple[int, ...]) -> list[int]:
    """An epoch's lineage counts as saved: without the files that left, when none had (as before windows)."""
    return list(counts[:3] if counts[3] == 0 else counts)


def _json_value(value) -> object:
    """A default as JSON keeps it: NaN, which JSON lacks, as a string."""
    return "NaN" if isinstance(value, float) and math.isnan(value) else value


def _size(nbytes: int) -> str:
    return f"{nbytes / 2**20:.1f} MiB" if nbytes >= 2**20 else f"{nbytes / 2**10:.1f} KiB"


def _same_version(stat: FileStat, record: AcceptedFile | RejectedFile | None) -> bool:
    return record is not None and stat.version == record.version


def _record_json(record: AcceptedFile | RejectedFile) -> dict:
    return dataclasses.asdict(record)

"""Decides, once per file version, whether a file's rows join training."""

import dataclasses
import logging
import math
import time
from collections.abc import Callable, Collection, Mapping, Sequence

import numpy as np
import tensorflow as tf

from keras_growing_data.sources.csv_reader import CsvReader
from keras_growing_data.sources.header import header_names
from keras_growing_data.sources.ingest_progress import REPORTED_FILES, IngestProgress
from keras_growing_data.sources.lineage import Lineage
from keras_growing_data.sources.manifest import Manifest
from keras_growing_data.sources.partitions import partition_values
from keras_growing_data.sources.quarantine import quarantine_file
from keras_growing_data.sources.records import (
    AcceptedFile,
    BadFileError,
    DamagedStateError,
    EpochLineage,
    RejectedFile,
    UnreadableFileError,
    WaitingFile,
    excerpt,
    printable,
    records_of,
)
from keras_growing_data.sources.schema import Schema
from keras_growing_data.sources.vocabulary import Vocabulary
from keras_growing_data.sources.watcher import DEFAULT_PATTERNS, FileStat, FolderWatcher
from keras_growing_data.storage.disk_store import DiskRowStore
from keras_growing_data.storage.memory_store import MemoryRowStore
from keras_growing_data.utils.arguments import check_bool, check_choice, check_path
from keras_growing_data.utils.durable_write import is_no_space
from keras_growing_data.utils.process_memory import release_parse_memory

logger = logging.getLogger("keras_growing_data")

# Accepted files looked at again per poll, for the warning that one changed.
RECHECKS_PER_POLL = 64
# A file that cannot be read now, or kept for want of space, is tried again
# after 1, 2, 4, ... seconds, at most this long.
MAX_RETRY_SECONDS = 300.0
# Rows a restart reads at once into a disk store.
RESTORE_BATCH_BYTES = 256 << 20


class FolderIngest:
    """Ingests the complete files of a folder into a `RowStore`, each once.

    Each poll asks the watcher for complete files and reads the new ones. A
    file is accepted whole, or rejected whole with its reason (logged as a
    warning); a rejected file is judged again only once it changes. An
    accepted file is never read again: if it changes, a warning says so and
    its rows stay as they were. With `state_dir`, all of this, the parsed
    rows and each epoch's lineage survive a crash and a restart.

    Example:

    >>> ingest = FolderIngest("incoming/", label="price", settle_seconds=0)
    >>> ingest.poll()
    ['incoming/part-0.csv']
    >>> ingest.num_rows, ingest.rejected

    Args:
        directory: the folder to watch (local path or `tf.io.gfile` URL).
        label: the label column, a list of them, or `None`.
        pattern: `fnmatch` pattern of the file names to read, or a list of them.
        settle_seconds: how long a file must stay unchanged to be complete.
        max_line_bytes: longest line accepted.
        follow_symlinks: whether to read links that lead out of the folder.
        on_bad_file: `"reject"` keeps a bad file where it is, listed in
            `rejected`; `"quarantine"` also moves it (a regular file whose
            content is bad, nothing else) to `_rejected/` in the folder,
            next to a `.reason.txt` file.
        on_bad_row: `"reject"` rejects a file with any bad line; `"skip"`
            keeps its good lines and records the bad ones in
            `AcceptedFile.skipped`.
        state_dir: a folder keeping the state across restarts, or `None`.
        seed: the store's shuffle seed.
        storage: `"memory"` keeps parsed rows in memory (`MemoryRowStore`);
            `"disk"` in a memory-mapped file (`DiskRowStore`), for data
            larger than memory.
        storage_dir: the local folder of the `"disk"` rows file (default: a
            temporary folder).
        parser: `"auto"`, `"pandas"` or `"tensorflow"` (see `CsvReader`).
        columns: the declared schema, or `None` to infer it from the first
            accepted file: while there is none, files are judged oldest
            first (modification time, then name).
        defaults: column -> the value a missing value takes.
        na_values: the spellings of a missing value (default: pandas').
        recursive: whether to watch sub-folders too (see `FolderWatcher`).
        partition_columns: whether the `key=value` folders a file is in
            (`dt=2026-12-01/hour=03/`) give it columns, one value for all
            its rows (see `partition_values`); typed like any column.
    """

    def __init__(
        self,
        directory: str,
        label: str | Sequence[str] | Mapping[str, str | Sequence[str]] | None,
        pattern: str | Sequence[str] = DEFAULT_PATTERNS,
        settle_seconds: float = 1.0,
        max_line_bytes: int = 1 << 20,
        follow_symlinks: bool = False,
        on_bad_file: str = "reject",
        on_bad_row: str = "reject",
        state_dir: str | None = None,
        seed: int | None = None,
        storage: str = "memory",
        storage_dir: str | None = None,
        parser: str = "auto",
        columns: Mapping[str, str] | None = None,
        defaults: Mapping[str, object] | None = None,
        na_values: Sequence[str] | None = None,
        recursive: bool = False,
        partition_columns: bool = False,
    ):
        check_choice("on_bad_file", on_bad_file, ("reject", "quarantine"))
        check_choice("on_bad_row", on_bad_row, ("reject", "skip"))
        check_choice("storage", storage, ("memory", "disk"))
        state_dir = check_path("state_dir", state_dir, optional=True)
        storage_dir = check_path("storage_dir", storage_dir, optional=True)
        exclude = [folder for folder in (state_dir, storage_dir) if folder is not None]
        self.watcher = FolderWatcher(directory, pattern, settle_seconds, follow_symlinks, recursive, exclude)
        self.directory = self.watcher.directory
        self.on_bad_file = on_bad_file
        self.on_bad_row = on_bad_row
        self.partition_columns = check_bool("partition_columns", partition_columns)
        self.reader = CsvReader(
            label,
            max_line_bytes=max_line_bytes,
            parser=parser,
            columns=columns,
            defaults=defaults,
            na_values=na_values,
        )
        self.store = MemoryRowStore(seed=seed) if storage == "memory" else DiskRowStore(storage_dir, seed)
        self.schema = self.reader.declared
        self.vocabularies = {}
        self._ignored_logged = set()
        self.accepted = {}
        self.rejected = {}
        self.waiting = {}
        self.pending = {}
        self._report = None  # The progress of reading a backlog, until it is read.
        self._accepted_paths = []
        self._rows_refs = {}  # Where each accepted file's rows are in `state_dir`.
        self.lineage = Lineage(self._accepted_paths, self.directory)
        self._rows_skipped = 0
        self._changed_after_accept = {}
        self._recheck_from = 0
        self._unsaved = []  # Journal records not yet written (the disk was full).
        self._short_of_space = None  # What a full disk stopped, while it does.
        self.manifest = Manifest(state_dir) if state_dir is not None else None
        if self.manifest is not None:
            self.manifest.open_for_writing()
            self._restore()

    @property
    def num_rows(self) -> int:
        return self.store.num_rows

    @property
    def labels(self) -> list[str]:
        return self.reader.labels

    @property
    def columns(self) -> tuple[str, ...] | None:
        """The schema's columns, once there is a schema."""
        return None if self.schema is None else self.schema.names

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
            if self._judge(stat):
                new.append(stat.path)
            del self.pending[stat.path]
            if report is not None:
                report.advance(self.num_rows - rows, stat.size)
            if max_seconds is not None and time.monotonic() - started >= max_seconds:
                break
        if report is not None and not self.pending:
            report.finish()
            self._report = None
        if to_read:
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
        new = [stat.path for stat in stats if self._judge(stat, quarantine)]
        if stats:
            release_parse_memory()
            self._save()
        return new

    def record_epoch(self, epoch: int) -> EpochLineage:
        """Notes that epoch `epoch` trains on everything accepted now."""
        counts = (len(self._accepted_paths), self.num_rows, self.rows_skipped)
        self.lineage.record(epoch, *counts)
        self._unsaved.append({"type": "epoch", "epoch": epoch, "lineage": list(counts)})
        self._save()
        return self.lineage[epoch]

    def _judge(self, stat: FileStat, quarantine: bool = True) -> bool:
        """Ingests one file version; whatever goes wrong with it, lands it in `rejected` or `waiting`."""
        try:
            return self._ingest(stat, quarantine)
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

    def _ingest(self, stat: FileStat, quarantine: bool = True) -> bool:
        if stat.problem:
            self._reject(stat, stat.problem, quarantine=False)  # Only regular files are moved.
            return False
        try:
            partition = partition_values(self.watcher.relative(stat.path)) if self.partition_columns else {}
            parsed = self.reader.read(stat.path, self.schema, self.skip_bad_rows, partition)
        except UnreadableFileError as e:
            changed = self._changed_reason(stat)
            if changed:
                self._reject(stat, changed, quarantine=False)
            else:
                self._wait(stat, str(e), logging.WARNING)
            return False
        except BadFileError as e:
            changed = self._changed_reason(stat)
            self._reject(stat, changed or str(e), quarantine=quarantine and not changed)
            return False
        changed = self._changed_reason(stat, parsed.size)
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
            self._accept(record, parsed.schema, parsed.arrays, parsed.strings)
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
        self._rows_refs[stat.path] = rows_ref
        self._unsaved.append({"type": "accept", "file": {**_record_json(record), "rows_ref": rows_ref}})
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

    def _accept(self, record: AcceptedFile, schema: Schema, arrays: dict, strings: dict) -> None:
        """Adds a file's rows, its strings renumbered by the columns' vocabularies (new ones appended).

        If the store cannot keep them (a full disk), nothing of them stays, vocabularies included.
        """
        if self.schema is None:
            self.schema = schema
            self._unsaved.append({"type": "schema", "schema": schema.to_json()})
            logger.info("Schema inferred from %s: %s", printable(record.path), schema.dtypes)
        lengths = {name: len(vocabulary) for name, vocabulary in self._vocabularies().items()}
        try:
            if "string" in arrays:
                self._renumber(arrays["string"], strings)
            self.store.append(arrays, owned=True)
        except BaseException:
            for name, length in lengths.items():
                self.vocabularies[name].truncate(length)
            raise
        self.accepted[record.path] = record
        self._accepted_paths.append(record.path)
        self._rows_skipped += len(record.skipped)

    def _vocabularies(self) -> dict[str, Vocabulary]:
        """Each string column's vocabulary, in stored order."""
        names = self.schema.stored_order("string")
        return {name: self.vocabularies.setdefault(name, Vocabulary()) for name in names}

    def _renumber(self, ids: np.ndarray, strings: dict[str, tuple[str, ...]]) -> None:
        """Turns a file's string ids (into its own distinct strings) into vocabulary ids, in place."""
        for j, (name, vocabulary) in enumerate(self._vocabularies().items()):
            ids[:, j] = vocabulary.ids_of(strings[name])[ids[:, j]]

    def vocabulary(self, name: str) -> list[str]:
        """The strings of column `name`: item i is the string of id i, item 0 `"[UNK]"`."""
        return list(self.vocabularies.get(name, Vocabulary()).strings)

    def _changed_reason(self, stat: FileStat, size_read: int | None = None) -> str | None:
        """Why the file is not the version that was listed, if it is not."""
        now = self.watcher.current(stat.path)
        if now is None:
            return "vanished while being read"
        if now.version != stat.version:
            return f"changed while being read (size {stat.size} -> {now.size} bytes)"
        if size_read not in (None, stat.size):
            return f"changed while being read ({size_read} bytes read, {stat.size} listed)"
        return None

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
        self._space_again()

    def _state_json(self) -> dict:
        """The whole state, as a snapshot keeps it."""
        return {
            "directory": self.directory,
            "labels": self.reader.labels,
            "schema": None if self.schema is None else self.schema.to_json(),
            "read_with": self._read_with(),
            "accepted": [
                {**_record_json(r), "rows_ref": self._rows_refs.get(r.path)} for r in self.accepted.values()
            ],
            "rejected": [_record_json(r) for r in self.rejected.values()],
            "epochs": {str(epoch): list(self.lineage.counts(epoch)) for epoch in self.lineage},
        }

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
        if state["labels"] != self.reader.labels:
            raise ValueError(
                f"{where} was written for labels {state['labels']}, not {self.reader.labels}; "
                "use another state_dir."
            )
        if state["read_with"] != self._read_with():
            raise ValueError(
                f"{where} was written for columns, defaults and na_values "
                f"{state['read_with']}, not {self._read_with()}: its rows were read by other rules; "
                "use another state_dir."
            )
        saved = state["schema"] and Schema.from_json(state["schema"], self.reader.labels)
        if saved:
            self.schema = saved
        accepted, self.rejected = records_of(state)
        refs = {item["path"]: item["rows_ref"] for item in state["accepted"]}
        for batch in self._restore_batches(list(accepted.values()), refs):
            self._restore_rows(batch, refs)
        for record in accepted.values():
            self.accepted[record.path] = record
            self._accepted_paths.append(record.path)
            self._rows_skipped += len(record.skipped)
        self._rows_refs.update(refs)
        for epoch, counts in state["epochs"].items():
            self.lineage.record(int(epoch), *counts)
        logger.info(
            "Restored %d accepted files (%d rows) and %d rejected files from %s",
            len(self.accepted),
            self.num_rows,
            len(self.rejected),
            self.manifest.state_dir,
        )

    def _restore_batches(self, records: list[AcceptedFile], refs: dict) -> list[list[AcceptedFile]]:
        """The accepted files in groups whose rows are read and stored at once.

        In memory, one group: a restart at 100k files takes seconds. On disk,
        groups of `RESTORE_BATCH_BYTES`, so that restoring needs no more memory
        than that, however large the rows.
        """
        if not isinstance(self.store, DiskRowStore):
            return [records] if records else []
        batches, size = [], math.inf
        for record in records:
            if size >= RESTORE_BATCH_BYTES:
                batches.append([])
                size = 0
            batches[-1].append(record)
            size += refs[record.path]["bytes"]
        return batches

    def _restore_rows(self, records: list[AcceptedFile], refs: dict) -> None:
        """Reads, checks and stores the saved rows of these files, in one read and one append."""
        arrays, files = self.manifest.rows.read_all([(record.path, refs[record.path]) for record in records])
        start = 0
        for record, (rows, strings) in zip(records, files, strict=True):
            if rows != record.rows:
                raise DamagedStateError(
                    f"The saved rows of {record.path} hold {rows} rows, its record {record.rows}: "
                    "the state cannot be trusted. Move the state_dir away to start afresh."
                )
            if "string" in arrays:
                self._renumber(arrays["string"][start : start + rows], strings)
            start += rows
        self.store.append(arrays, owned=True)

    def _read_with(self) -> dict:
        """The rules rows are read by, as saved: a restart must read by the same."""
        declared = self.reader.declared
        rules = {
            "columns": None if declared is None else declared.to_json(),
            "defaults": {name: _json_value(v) for name, v in self.reader.defaults.items()},
            "na_values": sorted(self.reader.na_values),
        }
        if self.partition_columns:  # Only then, so that the states saved before it was an option still fit.
            rules["partition_columns"] = True
        return rules


def _json_value(value) -> object:
    """A default as JSON keeps it: NaN, which JSON lacks, as a string."""
    return "NaN" if isinstance(value, float) and math.isnan(value) else value


def _size(nbytes: int) -> str:
    return f"{nbytes / 2**20:.1f} MiB" if nbytes >= 2**20 else f"{nbytes / 2**10:.1f} KiB"


def _same_version(stat: FileStat, record: AcceptedFile | RejectedFile | None) -> bool:
    return record is not None and stat.version == record.version


def _record_json(record: AcceptedFile | RejectedFile) -> dict:
    return dataclasses.asdict(record)

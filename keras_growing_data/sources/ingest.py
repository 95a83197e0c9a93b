"""Decides, once per file version, whether a file's rows join training."""

import dataclasses
import logging
import math
import posixpath
from collections.abc import Mapping, Sequence

import tensorflow as tf

from keras_growing_data.sources.csv_reader import CsvReader, ParsedFile
from keras_growing_data.sources.manifest import Manifest, rows_key
from keras_growing_data.sources.records import (
    AcceptedFile,
    BadFileError,
    EpochLineage,
    RejectedFile,
    records_of,
)
from keras_growing_data.sources.schema import Schema
from keras_growing_data.sources.vocabulary import Vocabulary
from keras_growing_data.sources.watcher import FileStat, FolderWatcher
from keras_growing_data.storage.disk_store import DiskRowStore
from keras_growing_data.storage.memory_store import MemoryRowStore
from keras_growing_data.utils.arguments import check_choice, check_path
from keras_growing_data.utils.process_memory import release_parse_memory

logger = logging.getLogger("keras_growing_data")

QUARANTINE_FOLDER = "_rejected"
# Accepted files looked at again per poll, for the warning that one changed.
RECHECKS_PER_POLL = 64


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
        pattern: `fnmatch` pattern of the file names to read.
        settle_seconds: how long a file must stay unchanged to be complete.
        max_line_bytes: longest line accepted.
        follow_symlinks: whether to read links that lead out of the folder.
        on_bad_file: `"reject"` keeps a bad file where it is, listed in
            `rejected`; `"quarantine"` also moves it to `_rejected/` in the
            folder, next to a `.reason.txt` file.
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
    """

    def __init__(
        self,
        directory: str,
        label: str | Sequence[str] | Mapping[str, str | Sequence[str]] | None,
        pattern: str = "*.csv",
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
    ):
        check_choice("on_bad_file", on_bad_file, ("reject", "quarantine"))
        check_choice("on_bad_row", on_bad_row, ("reject", "skip"))
        check_choice("storage", storage, ("memory", "disk"))
        state_dir = check_path("state_dir", state_dir, optional=True)
        storage_dir = check_path("storage_dir", storage_dir, optional=True)
        self.watcher = FolderWatcher(directory, pattern, settle_seconds, follow_symlinks)
        self.directory = self.watcher.directory
        self.on_bad_file = on_bad_file
        self.on_bad_row = on_bad_row
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
        self.lineage = {}
        self._changed_after_accept = {}
        self._recheck_from = 0
        self.manifest = Manifest(state_dir) if state_dir is not None else None
        if self.manifest is not None:
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
        return sum(len(record.skipped) for record in self.accepted.values())

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

    def poll(self) -> list[str]:
        """Ingests every complete new file; returns the accepted paths.

        Accepted files are looked at again (to warn when one changed) at most
        `RECHECKS_PER_POLL` a poll, in turn, so that a poll's system calls do
        not grow with the files already taken.
        """
        # Measured on TF 2.21, 2 cores: a stat costs ~5 us, and re-stating
        # 1,000 accepted files cost ~17 ms a poll, a third of an epoch over
        # their 8,000 rows.
        new = []
        changed = False
        stats = self.watcher.complete_files(skip=self._accepted_to_skip())
        if self.schema is None:
            # The schema comes from the oldest file, so a stray newer one cannot set it.
            stats = sorted(stats, key=lambda stat: (stat.mtime_ns, stat.path))
        for stat in stats:
            if stat.path in self.accepted:
                self._warn_if_changed(stat)
            elif not _same_version(stat, self.rejected.get(stat.path)):
                changed = True
                if self._ingest(stat):
                    new.append(stat.path)
        if changed:
            release_parse_memory()
            self._save()
        return new

    def _accepted_to_skip(self) -> set[str]:
        """The accepted paths this poll leaves unexamined: all but the next few in turn."""
        paths = list(self.accepted)
        if len(paths) <= RECHECKS_PER_POLL:
            return set()
        start = self._recheck_from % len(paths)
        stop = self._recheck_from = start + RECHECKS_PER_POLL
        rechecked = paths[start:stop] + paths[: max(0, stop - len(paths))]
        return set(paths).difference(rechecked)

    def ingest_files(self, stats: Sequence[FileStat], quarantine: bool = True) -> list[str]:
        """Ingests exactly these file versions, in this order, without scanning the folder.

        For a worker that must take the files another process accepted
        (`follower_ingest.ingest_snapshot`). Returns the accepted paths; the
        others land in `rejected`, as in `poll()`, and are moved only with
        `quarantine` (and `on_bad_file="quarantine"`).
        """
        new = [stat.path for stat in stats if self._ingest(stat, quarantine)]
        if stats:
            release_parse_memory()
            self._save()
        return new

    def record_epoch(self, epoch: int) -> EpochLineage:
        """Notes that epoch `epoch` trains on everything accepted now."""
        lineage = EpochLineage(tuple(self.accepted), self.num_rows, self.rows_skipped)
        self.lineage[epoch] = lineage
        self._save()
        return lineage

    def _ingest(self, stat: FileStat, quarantine: bool = True) -> bool:
        if stat.problem:
            self._reject(stat, stat.problem, quarantine)
            return False
        key = rows_key(stat.path, stat.size, stat.mtime_ns)
        try:
            parsed = self._rows_saved_before_a_crash(key, stat) or self.reader.read(
                stat.path, self.schema, self.skip_bad_rows
            )
        except BadFileError as e:
            changed = self._changed_reason(stat)
            self._reject(stat, changed or str(e), quarantine=quarantine and not changed)
            return False
        except Exception as e:  # poll() must never raise for a bad file.
            logger.exception("Unexpected error reading %s", stat.path)
            self._reject(stat, f"cannot be read: {type(e).__name__}: {e}", quarantine)
            return False
        changed = self._changed_reason(stat, parsed.size)
        if changed:
            self._reject(stat, changed, quarantine=False)
            return False
        if self.manifest is not None:
            self.manifest.save_rows(key, parsed.arrays, parsed.strings)
        self.rejected.pop(stat.path, None)
        record = AcceptedFile(
            stat.path, parsed.num_rows, stat.size, stat.mtime_ns, parsed.skipped, parsed.ignored
        )
        self._accept(record, parsed.schema, parsed.arrays, parsed.strings)
        logger.info(
            "Accepted %s: %d rows%s (%d rows from %d files in all)",
            stat.path,
            parsed.num_rows,
            f", {len(parsed.skipped)} bad rows skipped" if parsed.skipped else "",
            self.num_rows,
            len(self.accepted),
        )
        if parsed.ignored and parsed.ignored not in self._ignored_logged:
            self._ignored_logged.add(parsed.ignored)
            logger.info(
                "Ignoring the columns %s of %s, which the schema does not have (not logged again "
                "for files with the same ones; each file's record lists them)",
                list(parsed.ignored),
                stat.path,
            )
        return True

    def _accept(self, record: AcceptedFile, schema: Schema, arrays: dict, strings: dict) -> None:
        """Adds a file's rows, its strings renumbered by the columns' vocabularies (new ones appended)."""
        if self.schema is None:
            self.schema = schema
            logger.info("Schema inferred from %s: %s", record.path, schema.dtypes)
        names = self.schema.stored_order("string")
        if names:
            ids = arrays["string"].copy()
            for j, name in enumerate(names):
                vocabulary = self.vocabularies.setdefault(name, Vocabulary())
                ids[:, j] = vocabulary.ids_of(strings[name])[ids[:, j]]
            arrays = {**arrays, "string": ids}
        self.store.append(arrays)
        self.accepted[record.path] = record

    def vocabulary(self, name: str) -> list[str]:
        """The strings of column `name`: item i is the string of id i, item 0 `"[UNK]"`."""
        return list(self.vocabularies.get(name, Vocabulary()).strings)

    def _rows_saved_before_a_crash(self, key: str, stat: FileStat) -> ParsedFile | None:
        if self.manifest is None or self.schema is None or not self.manifest.has_rows(key):
            return None
        arrays, strings = self.manifest.load_rows(key)
        widths = {dtype: len(self.schema.stored_order(dtype)) for dtype in self.schema.groups}
        if {dtype: a.shape[1] for dtype, a in arrays.items()} != widths or set(strings) != set(
            self.schema.stored_order("string")
        ):
            return None  # Saved under another schema: parsed again.
        return ParsedFile(self.schema.names, self.schema, arrays, strings, stat.size)

    def _changed_reason(self, stat: FileStat, size_read: int | None = None) -> str | None:
        """Why the file is not the version that was listed, if it is not."""
        now = self.watcher.current(stat.path)
        if now is None:
            return "vanished while being read"
        if now.size != stat.size or now.mtime_ns != stat.mtime_ns:
            return f"changed while being read (size {stat.size} -> {now.size} bytes)"
        if size_read not in (None, stat.size):
            return f"changed while being read ({size_read} bytes read, {stat.size} listed)"
        return None

    def _reject(self, stat: FileStat, reason: str, quarantine: bool = True) -> None:
        """Sets a file aside; a file that changed while read is never moved (it is in flux)."""
        moved_to = None
        if quarantine and self.on_bad_file == "quarantine":
            moved_to = self._quarantine(stat.path, reason)
        self.rejected[stat.path] = RejectedFile(stat.path, reason, stat.size, stat.mtime_ns, moved_to)
        where = f" (moved to {moved_to})" if moved_to else ""
        logger.warning("Rejected %s%s: %s", stat.path, where, reason)

    def _quarantine(self, path: str, reason: str) -> str | None:
        folder = posixpath.join(self.directory, QUARANTINE_FOLDER)
        target = posixpath.join(folder, posixpath.basename(path))
        try:
            tf.io.gfile.makedirs(folder)
            tf.io.gfile.rename(path, target, overwrite=True)
            with tf.io.gfile.GFile(target + ".reason.txt", "w") as f:
                f.write(f"{path}: {reason}\n")
        except tf.errors.OpError as e:
            logger.warning("Could not move %s to %s: %s", path, folder, e.message)
            return None
        return target

    def _warn_if_changed(self, stat: FileStat) -> None:
        accepted = self.accepted[stat.path]
        if _same_version(stat, accepted) or self._changed_after_accept.get(stat.path) == stat:
            return
        self._changed_after_accept[stat.path] = stat
        logger.warning(
            "%s changed after it was accepted; its %d accepted rows stay as they "
            "were and the change is not read (write new data to a new file)",
            stat.path,
            accepted.rows,
        )

    def _save(self) -> None:
        if self.manifest is None:
            return
        self.manifest.save(
            {
                "directory": self.directory,
                "labels": self.reader.labels,
                "schema": None if self.schema is None else self.schema.to_json(),
                "read_with": self._read_with(),
                "accepted": [_record_json(r) for r in self.accepted.values()],
                "rejected": [_record_json(r) for r in self.rejected.values()],
                "epochs": {
                    str(epoch): [len(lineage.files), lineage.rows, lineage.rows_skipped]
                    for epoch, lineage in self.lineage.items()
                },
            }
        )

    def _restore(self) -> None:
        state = self.manifest.load()
        if state is None:
            return
        if state["directory"] != self.directory:
            raise ValueError(
                f"{self.manifest.path} was written for the folder {state['directory']!r}, "
                f"not {self.directory!r}; use another state_dir."
            )
        if state["labels"] != self.reader.labels:
            raise ValueError(
                f"{self.manifest.path} was written for labels {state['labels']}, "
                f"not {self.reader.labels}; use another state_dir."
            )
        if state["read_with"] != self._read_with():
            raise ValueError(
                f"{self.manifest.path} was written for columns, defaults and na_values "
                f"{state['read_with']}, not {self._read_with()}: its rows were read by other rules; "
                "use another state_dir."
            )
        saved = state["schema"] and Schema.from_json(state["schema"], self.reader.labels)
        if saved:
            self.schema = saved
        accepted, self.rejected = records_of(state)
        for record in accepted.values():
            arrays, strings = self.manifest.load_rows(rows_key(record.path, record.size, record.mtime_ns))
            self._accept(record, self.schema, arrays, strings)
        paths = tuple(self.accepted)
        self.lineage = {
            int(epoch): EpochLineage(paths[:files], rows, skipped)
            for epoch, (files, rows, skipped) in state["epochs"].items()
        }
        logger.info(
            "Restored %d accepted files (%d rows) and %d rejected files from %s",
            len(self.accepted),
            self.num_rows,
            len(self.rejected),
            self.manifest.path,
        )

    def _read_with(self) -> dict:
        """The rules rows are read by, as saved: a restart must read by the same."""
        declared = self.reader.declared
        return {
            "columns": None if declared is None else declared.to_json(),
            "defaults": {name: _json_value(v) for name, v in self.reader.defaults.items()},
            "na_values": sorted(self.reader.na_values),
        }


def _json_value(value) -> object:
    """A default as JSON keeps it: NaN, which JSON lacks, as a string."""
    return "NaN" if isinstance(value, float) and math.isnan(value) else value


def _same_version(stat: FileStat, record: AcceptedFile | RejectedFile | None) -> bool:
    return record is not None and (stat.size, stat.mtime_ns) == (record.size, record.mtime_ns)


def _record_json(record: AcceptedFile | RejectedFile) -> dict:
    return dataclasses.asdict(record)

"""The verdict on one file version: read it whole, and keep its rows, or say why not."""

import logging

import tensorflow as tf

from keras_growing_data.errors import (
    BadFileError,
    NoDataRowsError,
    StorageWriteError,
    UnfinishedFileError,
    UnreadableFileError,
)
from keras_growing_data.formats.column_names import header_names
from keras_growing_data.formats.file_format import FileFormat, ParsedFile
from keras_growing_data.formats.partitions import partition_values
from keras_growing_data.sources.disk_space import DiskSpace, error_text
from keras_growing_data.sources.records import AcceptedFile
from keras_growing_data.sources.tail import TailState, complete_end, first_line
from keras_growing_data.sources.tailed_files import TailedFiles
from keras_growing_data.sources.training_files import TrainingFiles
from keras_growing_data.sources.training_set import TrainingSetPolicy
from keras_growing_data.sources.verdicts import Verdicts, record_json
from keras_growing_data.sources.watcher import FileStat, FolderWatcher
from keras_growing_data.utils.durable_write import is_no_space
from keras_growing_data.utils.printable import excerpt, printable
from keras_growing_data.utils.scratch_arrays import ScratchArrays

logger = logging.getLogger("keras_growing_data")


class FileJudge:
    """Judges file versions one at a time: accepted whole, rejected whole with its reason, or waiting.

    A file is read by the format; if it is good and still the version that
    was listed, its rows join training (`TrainingFiles.add`) and its
    verdict is recorded (`Verdicts`); a file whose rows cannot be written
    (a full disk, or any error of `state_dir` or `storage_dir`) waits. The
    first file accepted sets the `schema` when none was declared.

    Example:

    >>> judge = FileJudge(csv_format, watcher, KeepEverything(), verdicts, files, tailed, changes, space)
    >>> judge.judge(stat)
    True

    Args:
        file_format: reads a file into typed columns.
        watcher: tells whether a file is still the version listed.
        policy: may refuse a file that arrives (`TrainingSetPolicy.refusal`).
        verdicts: where each verdict is recorded.
        files: keeps the accepted rows.
        tailed: tails the accepted files that are (`appends="tail"`).
        changes: the state changes not yet saved.
        space: notes a full disk.
        on_bad_row, partition_columns, appends: see `FolderIngest`.
    """

    def __init__(
        self,
        file_format: FileFormat,
        watcher: FolderWatcher,
        policy: TrainingSetPolicy,
        verdicts: Verdicts,
        files: TrainingFiles,
        tailed: TailedFiles,
        changes: list[dict],
        space: DiskSpace,
        on_bad_row: str = "reject",
        partition_columns: bool = False,
        appends: str = "warn",
    ):
        self.format = file_format
        self.watcher = watcher
        self.policy = policy
        self.verdicts = verdicts
        self.files = files
        self.tailed = tailed
        self.changes = changes
        self.space = space
        self.skip_bad_rows = on_bad_row == "skip"
        self.partition_columns = partition_columns
        self.appends = appends
        self.schema = file_format.declared
        self._ignored_logged = set()

    def judge(
        self, stat: FileStat, quarantine: bool = True, end: int | None = None, follow: bool = False
    ) -> bool:
        """Ingests one file version; whatever goes wrong with it, lands it in `rejected` or `waiting`.

        With a disk store (and a format that `streams_rows`), the rows go to
        its folder as they are parsed; what the store did not take of them is
        deleted here, whatever the verdict.
        """
        scratch = self.files.scratch() if self.format.streams_rows else None
        try:
            return self._read(stat, quarantine, end, follow, scratch)
        except StorageWriteError as e:
            self._rows_wait(stat, e.error, e.where, f"at least {_size(scratch.nbytes)}")
            return False
        except UnreadableFileError as e:  # Its stat failed now (an NFS hiccup): not a verdict.
            self.verdicts.wait(stat, str(e), logging.WARNING)
            return False
        except MemoryError:
            self.verdicts.wait(stat, "not enough memory to read it now", logging.WARNING)
            return False
        except Exception as e:  # poll() must never raise for a file.
            logger.exception("Unexpected error judging %s", printable(stat.path))
            self.verdicts.reject(
                stat, f"cannot be judged: {type(e).__name__}: {excerpt(str(e))}", quarantine=False
            )
            return False
        finally:
            if scratch is not None:
                scratch.remove()

    def _read(
        self, stat: FileStat, quarantine: bool, end: int | None, follow: bool, scratch: ScratchArrays | None
    ) -> bool:
        """Judges one file version, and takes it in if it is good (see `judge`).

        With `appends="tail"`, a plain local file is read up to its last
        newline, or to `end` (where the chief stopped, for a follower, which
        also takes its files whatever their age: `follow`). The rows go to
        `scratch` as they are parsed, if given.
        """
        reject, wait = self.verdicts.reject, self.verdicts.wait
        if stat.problem:
            reject(stat, stat.problem, quarantine=False)  # Only regular files are moved.
            return False
        refusal = None if follow else self.refusal(stat)
        if refusal is not None:
            reject(stat, refusal, quarantine=False, refused=True)
            return False
        tailed = self.appends == "tail" and self.tailed.can_tail(stat.path)
        if not tailed:
            end = None
        elif end is None:
            end = complete_end(stat.path, 0, stat.size)  # Up to the last complete line.
            if end == 0:
                wait(stat, "has no complete line yet", logging.DEBUG)
                return False
        try:
            parsed, tail = self._parse(stat, end, tailed, scratch)
        except UnreadableFileError as e:
            changed = self._changed_reason(stat, tailed_to=end)
            if changed:
                reject(stat, changed, quarantine=False)
            else:
                wait(stat, str(e), logging.WARNING)
            return False
        except BadFileError as e:
            if tailed and isinstance(e, NoDataRowsError):
                wait(stat, "has no complete data row yet", logging.DEBUG)  # Tailed: rows will come.
                return False
            changed = self._changed_reason(stat, tailed_to=end)
            # A truncated archive or a Parquet file without its footer may be one still written
            # (slower than settle_seconds): it stays put.
            moved = quarantine and not changed and not isinstance(e, UnfinishedFileError)
            reject(stat, changed or str(e), quarantine=moved)
            return False
        except OSError:  # The tail's checksums: the file went away after it was read.
            reject(stat, self._changed_reason(stat, tailed_to=end) or "vanished while being read", False)
            return False
        changed = self._changed_reason(stat, parsed.size, tailed_to=end)
        if changed:
            reject(stat, changed, quarantine=False)
            return False
        return self._accept(stat, parsed, stat.size if end is None else end, tail)

    def _parse(
        self, stat: FileStat, end: int | None, tailed: bool, scratch: ScratchArrays | None
    ) -> tuple[ParsedFile, TailState | None]:
        """The file read up to `end` (its rows into `scratch`, if given); if `tailed`, where reading stopped.

        A file where a log truncated by copytruncate goes on, and that does
        not begin with the log's header (its writer went on without writing
        one), is read as lines under that header.
        """
        schema, skip, partition = self.schema, self.skip_bad_rows, self.partition(stat)
        header = self.tailed.continued_header(stat.path) if tailed else None
        if header is None or first_line(stat.path, end) == header:
            if scratch is None:
                parsed = self.format.read(stat.path, schema, skip, partition, end=end)
            else:
                parsed = self.format.read(stat.path, schema, skip, partition, end=end, scratch=scratch)
            return parsed, TailState.of(stat.path, end, parsed.lines) if tailed else None
        parsed = self.format.read_lines(stat.path, schema, skip, partition, 0, end, 1, header)
        if not parsed.num_rows:
            raise NoDataRowsError("has no data row")
        text = header.decode("utf-8", "surrogateescape")
        return parsed, TailState.of(stat.path, end, parsed.lines, header=text)

    def _accept(self, stat: FileStat, parsed, end: int, tail: TailState | None) -> bool:
        """Keeps the rows of a good file read up to byte `end`; with no room for them, it waits."""
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
        if self.schema is None:
            self.schema = parsed.schema
            self.changes.append({"type": "schema", "schema": parsed.schema.to_json()})
            logger.info("Schema inferred from %s: %s", printable(record.path), parsed.schema.dtypes)
        try:
            rows_ref, new_strings = self.files.add(record, parsed, self.schema, end)
        except (OSError, tf.errors.OpError) as e:
            # The file was read: what failed is writing our own storage (full, read-only, failing),
            # which is no verdict on the file.
            needed = _size(sum(array.nbytes for array in parsed.arrays.values()))
            self._rows_wait(stat, e, self.files.writing_to, needed)
            return False
        self.space.writes_again()
        self.verdicts.accept(record)
        entry = {**record_json(record), "rows_ref": rows_ref}
        if tail is not None:
            self.tailed.states[stat.path] = tail
            entry["tail"] = tail.to_json()
            if end < stat.size:
                logger.info(
                    "%s: its last line has no newline yet; it joins once it ends", printable(stat.path)
                )
        change = {"type": "accept", "file": entry}
        if new_strings:
            change["strings"] = new_strings
        self.changes.append(change)
        logger.info(
            "Accepted %s: %d rows%s (%d rows from %d files in all)",
            printable(stat.path),
            parsed.num_rows,
            f", {len(parsed.skipped)} bad rows skipped" if parsed.skipped else "",
            self.files.store.num_rows,
            len(self.verdicts.accepted),
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

    def _rows_wait(self, stat: FileStat, error: BaseException, where: str, needed: str) -> None:
        """Makes a file wait whose rows (`needed` bytes) cannot be written `where`: no verdict on the file."""
        if is_no_space(error):
            reason = f"no space left to keep its rows ({needed}) in {where}"
        else:
            reason = f"cannot write its rows to {where} now ({error_text(error)})"
        self.verdicts.wait(stat, reason, logging.DEBUG)
        self.space.rows_wait(stat.path, where, needed, self.files.store.num_rows, error)

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

    def refusal(self, stat: FileStat) -> str | None:
        """Why the training-set policy does not take this file now, if it does not."""
        return self.policy.refusal(stat.mtime_ns, self.files.newest_mtime_ns, self.files.newest_path)

    def partition(self, stat: FileStat) -> dict[str, str]:
        """The columns a file's folders give it, if `partition_columns`."""
        return partition_values(self.watcher.relative(stat.path)) if self.partition_columns else {}


def _size(nbytes: int) -> str:
    return f"{nbytes / 2**20:.1f} MiB" if nbytes >= 2**20 else f"{nbytes / 2**10:.1f} KiB"

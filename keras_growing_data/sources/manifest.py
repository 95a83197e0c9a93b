"""Keeps a watched folder's ingest state on disk, so a restart loses nothing."""

import glob
import logging
import os
import posixpath
import re
from collections.abc import Callable

import tensorflow as tf

from keras_growing_data.errors import DamagedStateError, UnwritableStateError
from keras_growing_data.sources.journal import Journal, decode_record, encode_record
from keras_growing_data.sources.rows_log import RowsLog
from keras_growing_data.utils.durable_write import is_local, write_atomically
from keras_growing_data.utils.file_lock import FileLock

logger = logging.getLogger("keras_growing_data")

FORMAT_VERSION = 3
# A snapshot is rewritten once the journal holds as many records as it
# (at least this many): each change then costs O(1) writes amortised.
MIN_RECORDS_BEFORE_COMPACTION = 4096
# ... or once the journal is as long in bytes as the snapshot (at least this
# long): a few records can be long (a file's new strings), and a restart reads both.
MIN_BYTES_BEFORE_COMPACTION = 1 << 20
START_AFRESH = "Move the state_dir away to start afresh (the files still in the folder are read again)."


class Manifest:
    """A state folder: what was accepted and rejected, parsed rows, epochs.

    Layout of `state_dir`:

    - `state.json`: a snapshot of the state (the folder, the labels, the
      schema and the rules it was read with, the accepted files in order
      with their fingerprints, row counts and where their rows are, the
      rejected files with their reasons, and each epoch's lineage), and the
      number of the journal that continues it.
    - `journal-<n>.log`: the changes since, one checksummed record a line,
      appended: an epoch boundary, an accepted or rejected file, rows
      appended to a tailed file, an accepted file moved, or files leaving a window write one line,
      so its cost does not grow with the files taken. Once the journal holds
      as many records as the snapshot, or as many bytes, a new snapshot
      replaces both: a restart reads at most about twice the snapshot.
    - `rows/<n>.bin`: the parsed rows of the accepted files (see `RowsLog`),
      so a restart re-parses nothing, keeps training on rows whose source
      file was deleted or changed since, and rebuilds each column's
      vocabulary, ids unchanged, from the files' strings in acceptance order.
    - `lock`: held by the process that writes the folder (locally).

    Every record and piece of rows carries a checksum, and a snapshot is
    written under a temporary name, flushed to the disk, then renamed: a
    crash leaves the previous state, at most with its last record torn
    (dropped); anything else that does not match its checksum or length
    raises `DamagedStateError` naming the file. Everything goes through
    `tf.io.gfile` where `state_dir` is a URL (no lock there).

    Example:

    >>> manifest = Manifest("state/")
    >>> manifest.open_for_writing()
    >>> manifest.start({"schema": None, "accepted": [], "rejected": [], "epochs": {}})
    >>> manifest.append([{"type": "epoch", "epoch": 0, "lineage": [0, 0, 0]}], snapshot=dict)
    >>> manifest.load()["epochs"]
    {'0': [0, 0, 0]}

    Args:
        state_dir: a folder that keeps the accepted and rejected files, their
            parsed rows and each epoch's lineage, so that a restart (with
            `keras.callbacks.BackupAndRestore(..., double_checkpoint=True)`,
            which survives a kill inside its own weight save) re-parses
            nothing and counts nothing twice. It is written only once
            `open_for_writing` is called, so that loading alone writes
            nothing.
        rolling: whether rows go to small segments, soon deleted once their
            files left (for a window; see `RowsLog`).
    """

    def __init__(self, state_dir: str, rolling: bool = False):
        self.state_dir = str(state_dir)
        self.rows = RowsLog(self.state_dir, rolling)
        self._lock = None
        self._journal_number = 0
        self._journal_records = 0
        self._journal_bytes = 0
        self._snapshot_items = 0
        self._snapshot_bytes = 0
        self._started = False
        self.bytes_written = 0  # Journal and snapshot bytes written by this object.

    @property
    def started(self) -> bool:
        """Whether the state has its first snapshot."""
        return self._started

    @property
    def path(self) -> str:
        return posixpath.join(self.state_dir, "state.json")

    def _journal(self, number: int | None = None) -> Journal:
        number = self._journal_number if number is None else number
        return Journal(posixpath.join(self.state_dir, f"journal-{number}.log"))

    def load(self) -> dict | None:
        """The saved state (snapshot and journal replayed), or None if there is none yet.

        Raises:
            DamagedStateError: a state file is damaged.
            ValueError: the folder holds the state of an older version.
        """
        if not tf.io.gfile.exists(self.path):
            old = posixpath.join(self.state_dir, "manifest.json")
            if tf.io.gfile.exists(old):
                raise ValueError(
                    f"{old} is the state of an earlier version of keras_growing_data (format 1 or 2); "
                    f"this version keeps format {FORMAT_VERSION} (format 3: an append-only journal); "
                    "use a new state_dir."
                )
            return None
        with tf.io.gfile.GFile(self.path, "rb") as f:
            data = f.read()
        snapshot = decode_record(data)
        if snapshot is None or "state" not in snapshot:
            raise DamagedStateError(
                f"{self.path} is empty, truncated or damaged (its checksum does not match): "
                f"the state cannot be trusted. {START_AFRESH}"
            )
        if snapshot.get("format") != FORMAT_VERSION:
            raise ValueError(
                f"{self.path} has format {snapshot.get('format')}, this version of keras_growing_data "
                f"reads format {FORMAT_VERSION}; use a new state_dir."
            )
        state = snapshot["state"]
        self._started = True
        self._journal_number = snapshot["journal"]
        self._snapshot_items = _items(state)
        self._snapshot_bytes = len(data)
        records, self._journal_bytes = self._journal().read_with_length()
        self._journal_records = len(records)
        return replay(state, records)

    def open_for_writing(self) -> None:
        """Takes the folder for this process: its lock, and leftovers of an earlier run removed.

        Raises:
            RuntimeError: another process holds the folder; says which.
            UnwritableStateError: the folder cannot be written (read-only, not a folder).
        """
        local = is_local(self.state_dir)
        try:
            tf.io.gfile.makedirs(self.state_dir)
            if local:
                self._lock = FileLock(os.path.join(self.state_dir, "lock"))
                taken = self._lock.acquire()
        except (OSError, tf.errors.OpError) as e:
            raise UnwritableStateError(
                f"Cannot write the state_dir {self.state_dir!r} ({getattr(e, 'message', None) or e}): it "
                "keeps what was accepted, so it must be a folder this process can write. Make it "
                "writable, or give another state_dir."
            ) from e
        if not local:
            return
        if not taken:
            raise RuntimeError(
                f"{self.state_dir} is in use by {self._lock.holder()}: two runs must not write one "
                "state_dir. Stop that run, or give this one another state_dir."
            )
        partial = os.path.join(glob.escape(self.state_dir), "**", "*.partial")
        for leftover in glob.glob(partial, recursive=True):
            os.remove(leftover)  # Written by a run that crashed, or ran out of space, mid-write.

    def start(self, state: dict) -> None:
        """Begins a new state with its first snapshot."""
        self._write_snapshot(state, self._journal_number)

    def append(self, records: list[dict], snapshot: Callable[[], dict]) -> None:
        """Records changes in the journal; now and then rewrites the snapshot from `snapshot()`.

        Raises what the write raises (a full disk: `OSError`); nothing is then recorded.
        """
        self._check_held()
        written = self._journal().append(records)
        self.bytes_written += written
        self._journal_records += len(records)
        self._journal_bytes += written
        if self._journal_outgrew_snapshot():
            try:
                self.compact(snapshot())
            except (OSError, tf.errors.OpError) as e:
                # The records are in the journal; compaction is tried again at the next append.
                logger.warning("Could not compact the state in %s: %s", self.state_dir, e)

    def _journal_outgrew_snapshot(self) -> bool:
        """Whether the journal holds as many records as the snapshot, or as many bytes (past the minimums)."""
        return self._journal_records >= max(MIN_RECORDS_BEFORE_COMPACTION, self._snapshot_items) or (
            self._journal_bytes >= max(MIN_BYTES_BEFORE_COMPACTION, self._snapshot_bytes)
        )

    def compact(self, state: dict) -> None:
        """Replaces snapshot and journal by one snapshot of `state` (the replayed journal)."""
        self._write_snapshot(state, self._journal_number + 1)

    def _write_snapshot(self, state: dict, journal_number: int) -> None:
        self._check_held()
        data = encode_record({"format": FORMAT_VERSION, "journal": journal_number, "state": state})
        write_atomically(self.path, data)
        # Published: from here on the new journal is the one a restart reads.
        self._started = True
        self._journal_number = journal_number
        self._journal_records = 0
        self._journal_bytes = 0
        self._snapshot_items = _items(state)
        self._snapshot_bytes = len(data)
        self.bytes_written += len(data)
        try:
            for name in tf.io.gfile.listdir(self.state_dir):
                number = re.fullmatch(r"journal-(\d+)\.log", name)
                if number and int(number.group(1)) != journal_number:
                    tf.io.gfile.remove(posixpath.join(self.state_dir, name))
        except (OSError, tf.errors.OpError) as e:  # Stale journals are never read; removed later.
            logger.warning("Could not remove an old journal in %s: %s", self.state_dir, e)

    def _check_held(self) -> None:
        if self._lock is not None and not self._lock.held:
            raise RuntimeError(
                f"Another ingest in this process took over {self.state_dir}; this one may no longer write it."
            )


def replay(state: dict, records: list[dict]) -> dict:
    """The state after applying the journal's records to a snapshot's state, in order."""
    accepted = {item["path"]: item for item in state["accepted"]}
    rejected = {item["path"]: item for item in state["rejected"]}
    epochs = dict(state["epochs"])
    schema = state["schema"]
    first, kept = state.get("first", 0), state.get("kept", [])
    vocabularies = state.get("vocabularies")  # None in a state from before they were kept.
    if vocabularies is not None:
        vocabularies = {name: list(strings) for name, strings in vocabularies.items()}
    for record in records:
        kind = record["type"]
        if vocabularies is not None:
            for name, strings in record.get("strings", {}).items():
                vocabularies.setdefault(name, []).extend(strings)
        if kind == "accept":
            accepted[record["file"]["path"]] = record["file"]
            rejected.pop(record["file"]["path"], None)
        elif kind == "append":
            before = accepted[record["file"]["path"]]
            appends = before.get("appends", []) + ([record["rows_ref"]] if "rows_ref" in record else [])
            accepted[record["file"]["path"]] = {
                **record["file"],
                "rows_ref": before["rows_ref"],
                "appends": appends,
                "tail": record["tail"],
            }
        elif kind == "move":  # An accepted file moved: its record follows, in its place.
            old, moved = record["from"], record["file"]
            accepted = {
                (moved["path"] if path == old else path): ({**item, **moved} if path == old else item)
                for path, item in accepted.items()
            }
            rejected.pop(moved["path"], None)
        elif kind == "reject":
            rejected[record["file"]["path"]] = record["file"]
        elif kind == "epoch":
            epochs[str(record["epoch"])] = record["lineage"]
        elif kind == "schema":
            schema = record["schema"]
        elif kind == "leave":
            first, kept = record["first"], record.get("kept", [])
        else:
            raise DamagedStateError(f"a journal record of unknown type {kind!r}: {START_AFRESH}")
    return {
        **state,
        "schema": schema,
        "accepted": list(accepted.values()),
        "rejected": list(rejected.values()),
        "epochs": epochs,
        "first": first,
        "kept": kept,
        "vocabularies": vocabularies,
    }


def _items(state: dict) -> int:
    return len(state["accepted"]) + len(state["rejected"]) + len(state["epochs"])

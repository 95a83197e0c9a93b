"""An append-only file of checksummed JSON records: a state change costs one short write."""

import json
import os
import zlib

import tensorflow as tf

from keras_growing_data.errors import DamagedStateError
from keras_growing_data.utils.durable_write import append_durably, is_local


def encode_record(record: dict) -> bytes:
    """One record as a line: the CRC-32 of its JSON, then the JSON."""
    text = json.dumps(record, separators=(",", ":")).encode()
    return b"%08x %s\n" % (zlib.crc32(text), text)


def decode_record(line: bytes) -> dict | None:
    """The record of a line `encode_record` wrote, or None if the line is not one (torn or damaged)."""
    crc, _, text = line.rstrip(b"\n").partition(b" ")
    try:
        if int(crc, 16) != zlib.crc32(text) or len(crc) != 8:
            return None
        return json.loads(text)
    except ValueError:
        return None


class Journal:
    """The records of state changes since the last snapshot, one line each, appended.

    A crash can leave at most the last line half written; `read` drops it
    (and `truncate_torn_tail` cuts it off before the next append). A bad
    line anywhere else means the file was damaged, and `read` raises.
    Locally each append is flushed to the disk before it returns.

    Example:

    >>> journal = Journal("state/journal-0.log")
    >>> journal.append([{"type": "epoch", "epoch": 0}])
    36
    >>> journal.read()
    [{'type': 'epoch', 'epoch': 0}]

    Args:
        path: the journal's file (a local path or a `tf.io.gfile` URL).
    """

    def __init__(self, path: str):
        self.path = path

    def read(self) -> list[dict]:
        """Every whole record, in order; `[]` if the file does not exist."""
        return self._scan()[0]

    def read_with_length(self) -> tuple[list[dict], int]:
        """Every whole record, in order, and their length in bytes."""
        return self._scan()

    def _scan(self) -> tuple[list[dict], int]:
        """The whole records and the length of the file up to the end of the last one."""
        if not tf.io.gfile.exists(self.path):
            return [], 0
        with tf.io.gfile.GFile(self.path, "rb") as f:
            data = f.read()
        records, end = [], 0
        lines = data.split(b"\n")
        for number, line in enumerate(lines[:-1], start=1):
            record = decode_record(line)
            if record is None:
                if number == len(lines) - 1 and not lines[-1]:
                    break  # The last line, torn by a crash in its write.
                raise DamagedStateError(
                    f"{self.path}, line {number}, is damaged (its checksum does not match): the state "
                    "cannot be trusted. Move the state_dir away to start afresh (the files still in "
                    "the folder are read again)."
                )
            records.append(record)
            end += len(line) + 1
        return records, end

    def _ends_a_line(self) -> bool:
        """Whether the file is empty, absent, or ends with a newline (one read of its last byte)."""
        if not is_local(self.path):
            if not tf.io.gfile.exists(self.path):
                return True
            with tf.io.gfile.GFile(self.path, "rb") as f:
                data = f.read()
            return not data or data.endswith(b"\n")
        try:
            with open(self.path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                if size == 0:
                    return True
                f.seek(size - 1)
                return f.read(1) == b"\n"
        except FileNotFoundError:
            return True

    def truncate_torn_tail(self) -> None:
        """Cuts off a last record that a crash left half written, so that appends start on a new line."""
        if not tf.io.gfile.exists(self.path):
            return
        _, end = self._scan()
        if end < tf.io.gfile.stat(self.path).length:
            if is_local(self.path):
                os.truncate(self.path, end)
            else:
                with tf.io.gfile.GFile(self.path, "rb") as f:
                    kept = f.read(end)
                with tf.io.gfile.GFile(self.path, "wb") as f:
                    f.write(kept)

    def append(self, records: list[dict]) -> int:
        """Appends records, durably where the file is local; returns the bytes written.

        A last record left torn (a crash, or a full disk whose partial write
        could not be undone) is cut off first, so a record always starts a line.
        """
        if not self._ends_a_line():
            self.truncate_torn_tail()
        data = b"".join(encode_record(record) for record in records)
        if is_local(self.path):
            append_durably(self.path, data)
        else:
            # Appending through gfile rewrites the object on most object stores:
            # a remote state_dir pays for its journal's size at each append.
            with tf.io.gfile.GFile(self.path, "ab") as f:
                f.write(data)
        return len(data)

"""Keeps accepted files' parsed rows in append-only segment files, each piece checksummed."""

import collections
import json
import logging
import os
import posixpath
import re
import zlib
from collections.abc import Iterable

import numpy as np
import tensorflow as tf

from keras_growing_data.errors import DamagedStateError
from keras_growing_data.utils.aligned_arrays import aligned_empty
from keras_growing_data.utils.durable_write import append_durably, is_local, write_atomically
from keras_growing_data.utils.scratch_arrays import row_blocks

logger = logging.getLogger("keras_growing_data")

SEGMENT_BYTES = 1 << 30
# With a window, segments are smaller, so that a segment whose files all
# left is soon whole and deleted: the disk holds the window, not the history.
ROLLING_SEGMENT_BYTES = 64 << 20
ROLLING_SEGMENT_WRITES = 64


class RowsLog:
    """The parsed rows of accepted files, appended to segments `rows/<n>.bin` of a state folder.

    `write` appends one file's arrays (raw, in their dtype) and its
    distinct strings (JSON) and returns a reference (segment, offset,
    length, CRC-32, layout) to keep in the journal; `read_all` gives many
    files' rows back, checking lengths and checksums. Rows are written straight from their
    arrays, without a copy. Locally one segment takes a run's files until it
    holds `SEGMENT_BYTES`, each write flushed to the disk; in a remote
    folder (object stores cannot append) each write is a segment of its own.
    A crash between a write and its journal record leaves bytes that no
    record names: harmless, and the file is parsed again. `release` lets
    go of rows no longer needed (files that left a window): a segment
    that no live reference names is deleted.

    Example:

    >>> log = RowsLog("state/")
    >>> ref = log.write({"float32": np.ones((2, 3), "float32")}, {})
    >>> arrays, files = log.read_all([("a.csv", ref)])
    >>> arrays["float32"].shape, files
    ((2, 3), [(2, {})])

    Args:
        state_dir: the state folder; segments go to its `rows/` folder.
        rolling: whether to start a new segment every `ROLLING_SEGMENT_WRITES`
            writes or `ROLLING_SEGMENT_BYTES` (for a window).
    """

    def __init__(self, state_dir: str, rolling: bool = False):
        self.folder = posixpath.join(state_dir, "rows")
        self.rolling = rolling
        self._segment = None  # The local segment this run appends to.
        self._writes = 0  # Into that segment.
        self._next = None  # The next segment number.
        self._live = collections.Counter()  # Segment -> the live references into it.
        self._released = set()  # Segments no live reference names, to delete once that is saved.

    def write(self, arrays: dict[str, np.ndarray], strings: dict[str, tuple[str, ...]]) -> dict:
        """Appends one file's rows; returns the reference that reads them back.

        A memory map is written in blocks (`row_blocks`), so that its pages do
        not all stay in the process.
        """
        text = json.dumps(strings).encode()
        size = sum(array.nbytes for array in arrays.values()) + len(text)
        crc = 0

        def pieces():
            nonlocal crc
            for array in arrays.values():
                for block in row_blocks(array):
                    piece = memoryview(np.ascontiguousarray(block)).cast("B")
                    crc = zlib.crc32(piece, crc)
                    yield piece
            crc = zlib.crc32(text, crc)
            yield text

        segment, offset = self._place(size)
        path = posixpath.join(self.folder, segment)
        if is_local(path):
            append_durably(path, pieces())
        else:
            write_atomically(path, pieces())
        self._live[segment] += 1
        self._writes += 1
        return {
            "segment": segment,
            "offset": offset,
            "bytes": size,
            "crc": crc,
            "arrays": [[key, array.dtype.str, *array.shape] for key, array in arrays.items()],
        }

    def _place(self, size: int) -> tuple[str, int]:
        """The segment a write of `size` bytes goes to, and its offset there."""
        if self._segment is not None and is_local(self.folder):
            offset = os.path.getsize(posixpath.join(self.folder, self._segment))
            limit = ROLLING_SEGMENT_BYTES if self.rolling else SEGMENT_BYTES
            full = offset + size > limit or (self.rolling and self._writes >= ROLLING_SEGMENT_WRITES)
            if not full or offset == 0:
                return self._segment, offset
        if self._next is None:
            self._next = _next_segment(self.folder)
        finished, self._segment, self._next = self._segment, _segment_name(self._next), self._next + 1
        self._writes = 0
        if finished is not None and not self._live[finished]:
            self._released.add(finished)
        if is_local(self.folder):
            os.makedirs(self.folder, exist_ok=True)
            open(posixpath.join(self.folder, self._segment), "ab").close()
        return self._segment, 0

    def discard(self, ref: dict) -> None:
        """Takes back the last write (its file was not accepted after all), where it can."""
        path = posixpath.join(self.folder, ref["segment"])
        self._live[ref["segment"]] -= 1
        if not is_local(path):
            tf.io.gfile.remove(path)  # A segment of its own.
        elif os.path.getsize(path) == ref["offset"] + ref["bytes"]:
            os.truncate(path, ref["offset"])

    def release(self, refs: Iterable[dict | None]) -> None:
        """Lets go of the rows of these references: a segment no live reference names is deleted later.

        Deleted at `delete_released`, once the record that no longer names it
        is saved: until then, a restart may still read it. A segment that
        cannot be deleted then stays; a restart deletes it (`keep_only`).
        """
        for ref in refs:
            if ref is None:
                continue
            segment = ref["segment"]
            self._live[segment] -= 1
            if not self._live[segment]:
                self._released.add(segment)

    def delete_released(self) -> None:
        """Deletes the released segments that no live reference names, but the one written to."""
        for segment in sorted(self._released):
            if not self._live[segment] and segment != self._segment:
                self._delete(segment)
                self._released.discard(segment)

    def keep_only(self, refs: Iterable[dict | None]) -> None:
        """Counts these references as the live ones (at a restart), and deletes every other segment."""
        self._live = collections.Counter(ref["segment"] for ref in refs if ref is not None)
        if not tf.io.gfile.isdir(self.folder):
            return
        for name in tf.io.gfile.listdir(self.folder):
            if re.fullmatch(r"\d+\.bin", name) and name not in self._live:
                self._delete(name)

    def _delete(self, segment: str) -> None:
        self._live.pop(segment, None)
        try:
            tf.io.gfile.remove(posixpath.join(self.folder, segment))
        except (OSError, tf.errors.OpError) as e:
            logger.warning("Could not delete %s (%s); a restart deletes it", segment, e)

    def read_all(self, refs: list[tuple[str, dict]]) -> tuple[dict[str, np.ndarray], list[tuple[int, dict]]]:
        """The rows of many files, read straight into one aligned array per type, in order.

        Each file's bytes are read into their place (no copy, no buffer) and
        checked. Returns the arrays and, per file, its row count and strings.

        Args:
            refs: `(owner, ref)` per file: the accepted file's path and what `write` returned.

        Raises:
            DamagedStateError: a file's bytes are missing or do not match their
                checksum (the message names the segment and the accepted file),
                or the files' rows are not laid out alike.
        """
        if not refs:
            return {}, []
        layout = [(key, dtype, width) for key, dtype, _, width in refs[0][1]["arrays"]]
        totals = {key: 0 for key, _, _ in layout}
        for owner, ref in refs:
            if [(key, dtype, width) for key, dtype, _, width in ref["arrays"]] != layout:
                raise _damaged(self.folder, owner, f"lays its rows out as {ref['arrays']}, not as {layout}")
            for key, _, rows, _ in ref["arrays"]:
                totals[key] += rows
        arrays = {key: aligned_empty((totals[key], width), dtype) for key, dtype, width in layout}
        starts = dict.fromkeys(totals, 0)
        files = []
        opened = {}
        try:
            for owner, ref in refs:
                path = posixpath.join(self.folder, ref["segment"])
                files.append(
                    (ref["arrays"][0][2], self._read_piece(opened, path, ref, owner, arrays, starts))
                )
        finally:
            for f in opened.values():
                f.close()
        return arrays, files

    def _read_piece(self, opened: dict, path: str, ref: dict, owner: str, arrays: dict, starts: dict) -> dict:
        """Reads one file's rows into their place in `arrays`; returns its strings."""
        crc = read = 0
        try:
            if path not in opened:
                opened[path] = _open(path)
            f = opened[path]
            f.seek(ref["offset"])
            for key, _, rows, _ in ref["arrays"]:
                view = memoryview(arrays[key][starts[key] : starts[key] + rows].reshape(-1)).cast("B")
                got = _read_into(f, view)
                crc, read = zlib.crc32(view[:got], crc), read + got
                starts[key] += rows
            text = f.read(max(0, ref["bytes"] - read))
        except (OSError, tf.errors.OpError) as e:
            raise _damaged(path, owner, f"cannot be read ({e})") from None
        crc, read = zlib.crc32(text, crc), read + len(text)
        if read != ref["bytes"]:
            raise _damaged(path, owner, f"holds {read} of its {ref['bytes']} bytes (truncated)")
        if crc != ref["crc"]:
            raise _damaged(path, owner, "does not match its checksum (overwritten or damaged)")
        try:
            strings = json.loads(text)
        except ValueError:
            raise _damaged(path, owner, "holds strings that are not JSON") from None
        return {name: tuple(values) for name, values in strings.items()}


def _open(path: str):
    return open(path, "rb") if is_local(path) else tf.io.gfile.GFile(path, "rb")


def _read_into(f, view: memoryview) -> int:
    """Fills `view` from `f` as far as the file goes; returns the bytes read."""
    if hasattr(f, "readinto"):
        got = 0
        while got < len(view):
            n = f.readinto(view[got:])
            if not n:
                break
            got += n
        return got
    data = f.read(len(view))
    view[: len(data)] = data
    return len(data)


def _damaged(path: str, owner: str, problem: str) -> DamagedStateError:
    return DamagedStateError(
        f"{path}, which holds the saved rows of {owner}, {problem}: the state cannot be trusted. "
        "Move the state_dir away to start afresh (the files still in the folder are read again)."
    )


def _segment_name(number: int) -> str:
    return f"{number:06d}.bin"


def _next_segment(folder: str) -> int:
    """One more than the highest segment number in the folder."""
    if not tf.io.gfile.isdir(folder):
        return 0
    names = tf.io.gfile.listdir(folder)
    numbers = [int(m.group(1)) for name in names if (m := re.fullmatch(r"(\d+)\.bin", name))]
    return max(numbers, default=-1) + 1

"""Arrays written a part at a time to files on disk, read back as writable memory maps."""

import contextlib
import mmap
import os
import tempfile
from collections.abc import Iterator, Mapping

import numpy as np

from keras_growing_data.errors import StorageWriteError

SCRATCH_PREFIX = "scratch-"
# The bytes of a memory map that `row_blocks` maps at once.
BLOCK_BYTES = 1 << 20


class ScratchArrays:
    """Arrays by key, appended a part at a time to one scratch file per key, read back memory-mapped.

    With `storage="disk"`, a file's rows go to disk as they are parsed, so
    that reading a file needs memory for a part of it, not for the file. The
    files are `scratch-<key>-*.bin` in `folder`; a `DiskRowStore` in that
    folder takes them over by a rename where it can (`is_scratch_file`).
    `remove` deletes the ones still there, taken over or not. `rows` and
    `nbytes` count the parts appended (`nbytes` the one that failed too).

    Example:

    >>> scratch = ScratchArrays("/mnt/rows/kgd-rows-1234")
    >>> scratch.append({"float32": np.ones((2, 3), np.float32)})
    >>> scratch.append({"float32": np.zeros((1, 3), np.float32)})
    >>> scratch.maps()["float32"].shape
    (3, 3)
    >>> scratch.remove()

    Args:
        folder: the local folder of the files.
    """

    def __init__(self, folder: str):
        self.folder = folder
        self.rows = 0
        self.nbytes = 0
        self._files = {}  # Key -> (path, open descriptor or None).
        self._layout = {}  # Key -> (dtype, width).

    def append(self, arrays: Mapping[str, np.ndarray]) -> None:
        """Writes a part's arrays (`[rows, width]`, the same rows each) after the parts appended before.

        Raises:
            StorageWriteError: a file cannot be written (a full disk, ...).
        """
        self.nbytes += sum(array.nbytes for array in arrays.values())
        try:
            for key, array in arrays.items():
                if key not in self._files:
                    fd, path = tempfile.mkstemp(".bin", f"{SCRATCH_PREFIX}{key}-", self.folder)
                    self._files[key] = (path, fd)
                    self._layout[key] = (array.dtype, array.shape[1])
                _write_all(self._files[key][1], np.ascontiguousarray(array))
        except OSError as e:
            raise StorageWriteError(self.folder, e) from None
        self.rows += len(next(iter(arrays.values())))

    def maps(self) -> dict[str, np.memmap]:
        """The arrays appended, as writable memory maps `[rows, width]` of the files (rows appended)."""
        self._close()
        maps = {}
        for key, (path, _) in self._files.items():
            dtype, width = self._layout[key]
            maps[key] = np.memmap(path, dtype, "r+", shape=(self.rows, width))
        return maps

    def remove(self) -> None:
        """Deletes the files still there; maps of them stay readable while they live."""
        self._close()
        for path, _ in self._files.values():
            with contextlib.suppress(FileNotFoundError):
                os.remove(path)

    def _close(self) -> None:
        for key, (path, fd) in self._files.items():
            if fd is not None:
                os.close(fd)
                self._files[key] = (path, None)


def is_scratch_file(array: np.ndarray, folder: str) -> bool:
    """Whether `array` is the whole of a scratch file of `folder`, memory-mapped (`ScratchArrays.maps`)."""
    return (
        _is_map(array)
        and array.offset == 0
        and os.path.dirname(array.filename) == os.path.abspath(folder)
        and os.path.basename(array.filename).startswith(SCRATCH_PREFIX)
        and os.path.getsize(array.filename) == array.nbytes
    )


def row_blocks(array: np.ndarray) -> Iterator[np.ndarray]:
    """`array` as consecutive blocks of rows: a memory map in maps of about `BLOCK_BYTES`, else whole.

    Each block of a memory map is a map of its own, unmapped once let go, so
    that going through a large map in blocks keeps a block's pages in the
    process, not the file's. An array in memory is one block.
    """
    if not _is_map(array) or len(array) == 0:
        yield array
        return
    row_bytes = array.strides[0]
    step = max(1, BLOCK_BYTES // row_bytes)
    for start in range(0, len(array), step):
        shape = (min(step, len(array) - start), *array.shape[1:])
        yield np.memmap(array.filename, array.dtype, array.mode, array.offset + start * row_bytes, shape)


def _is_map(array: np.ndarray) -> bool:
    """Whether `array` is a memory map as `np.memmap` made it (not a view of one), C-contiguous."""
    return isinstance(array, np.memmap) and isinstance(array.base, mmap.mmap) and array.flags.c_contiguous


def _write_all(fd: int, values: np.ndarray) -> None:
    unwritten = memoryview(values).cast("B") if values.size else b""
    while unwritten:
        unwritten = unwritten[os.write(fd, unwritten) :]

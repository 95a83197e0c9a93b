"""Keeps the accepted rows in a file on disk, for data larger than memory."""

import contextlib
import os
import tempfile
import uuid
import weakref

import numpy as np
import tensorflow as tf

from keras_growing_data.storage.row_store import RowStore


class DiskRowStore(RowStore):
    """Accepted rows appended to files, one per stored type, read back memory-mapped.

    The epochs of every `RowStore` (every row once per pass, a new global
    permutation per pass, known cardinality), with the rows in files:
    the process keeps only the pages the kernel caches, which it can drop
    under memory pressure. Each batch is one fancy-indexed read of each
    memory map (`tf.numpy_function`), so an epoch costs one read per batch
    and type whatever the number of files, and pays the disk's random-read
    speed when the data does not fit in the page cache. The files are
    deleted when the store is.

    Example:

    >>> store = DiskRowStore("/mnt/scratch")
    >>> store.append({"float32": np.random.rand(100, 4).astype("float32")})
    >>> for batch in store.dataset(batch_size=32):
    ...     print(batch["float32"].shape)

    Args:
        folder: a local folder for the rows files; `None` for a temporary one.
        seed: seed of the permutations, or `None` for a random one.
    """

    def __init__(self, folder: str | None = None, seed: int | None = None):
        super().__init__(seed)
        folder = tempfile.mkdtemp(prefix="kgd-rows-") if folder is None else str(folder)
        os.makedirs(folder, exist_ok=True)
        self._stem = os.path.join(folder, f"rows-{uuid.uuid4().hex}")
        self.paths = {}
        self._num_rows = 0
        self._layout = None

    @property
    def num_rows(self) -> int:
        return self._num_rows

    @property
    def layout(self) -> dict[str, tuple[np.dtype, int]] | None:
        return self._layout

    @property
    def num_blocks(self) -> int:
        return 1 if self._num_rows else 0

    def _append(self, arrays: dict[str, np.ndarray]) -> None:
        if self._layout is None:
            for key in arrays:
                self.paths[key] = f"{self._stem}-{key}.bin"
                open(self.paths[key], "wb").close()
                weakref.finalize(self, _remove, self.paths[key])
        ends = {key: os.path.getsize(path) for key, path in self.paths.items()}
        try:
            for key, array in arrays.items():
                _write(self.paths[key], np.ascontiguousarray(array))
        except BaseException:
            for key, end in ends.items():  # A partial write would shift every later row.
                os.truncate(self.paths[key], end)
            raise
        self._layout = {key: (array.dtype, array.shape[1]) for key, array in arrays.items()}
        self._num_rows += len(next(iter(arrays.values())))

    def _take_fn(self):
        maps = {
            key: np.memmap(self.paths[key], dtype, "r", shape=(self._num_rows, width))
            for key, (dtype, width) in self._layout.items()
        }
        layout = self._layout

        def take(index):
            batch = {}
            for key, rows in maps.items():
                dtype, width = layout[key]
                values = tf.numpy_function(
                    lambda i, rows=rows: rows[i], [index], tf.as_dtype(dtype), stateful=False
                )
                values.set_shape([None, width])
                batch[key] = values
            return batch

        return take


def _write(path: str, values: np.ndarray) -> None:
    with open(path, "ab", buffering=0) as f:
        unwritten = memoryview(values).cast("B")
        while unwritten:
            unwritten = unwritten[f.write(unwritten) :]


def _remove(path: str) -> None:
    """Deletes a rows file, unless its folder went first (a temporary one)."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)

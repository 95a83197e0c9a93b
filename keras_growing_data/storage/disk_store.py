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
    """Accepted rows appended to one float32 file, read back memory-mapped.

    The epochs of every `RowStore` (every row once per pass, a new global
    permutation per pass, known cardinality), with the rows in a file:
    the process keeps only the pages the kernel caches, which it can drop
    under memory pressure. Each batch is one fancy-indexed read of the
    memory map (`tf.numpy_function`), so an epoch costs one read per batch
    whatever the number of files, and pays the disk's random-read speed
    when the data does not fit in the page cache. The file is deleted when
    the store is.

    Example:

    >>> store = DiskRowStore("/mnt/scratch")
    >>> store.append(tf.random.uniform((100, 4)))
    >>> for batch in store.dataset(batch_size=32):
    ...     print(batch.shape)

    Args:
        folder: a local folder for the rows file; `None` for a temporary one.
        seed: seed of the permutations, or `None` for a random one.
    """

    def __init__(self, folder: str | None = None, seed: int | None = None):
        super().__init__(seed)
        folder = tempfile.mkdtemp(prefix="kgd-rows-") if folder is None else str(folder)
        os.makedirs(folder, exist_ok=True)
        self.path = os.path.join(folder, f"rows-{uuid.uuid4().hex}.f32")
        open(self.path, "wb").close()
        weakref.finalize(self, _remove, self.path)
        self._num_rows = 0
        self._num_columns = None

    @property
    def num_rows(self) -> int:
        return self._num_rows

    @property
    def num_columns(self) -> int | None:
        return self._num_columns

    @property
    def num_blocks(self) -> int:
        return 1 if self._num_rows else 0

    def _append(self, rows: tf.Tensor) -> None:
        values = np.ascontiguousarray(rows.numpy(), dtype=np.float32)
        with open(self.path, "ab", buffering=0) as f:
            end = f.tell()
            try:
                unwritten = memoryview(values).cast("B")
                while unwritten:
                    unwritten = unwritten[f.write(unwritten) :]
            except BaseException:
                f.truncate(end)  # A partial write would shift every later row.
                raise
        self._num_columns = int(rows.shape[1])
        self._num_rows += int(rows.shape[0])

    def _take_fn(self):
        rows = np.memmap(self.path, np.float32, "r", shape=(self._num_rows, self._num_columns))
        num_columns = self._num_columns

        def take(index):
            batch = tf.numpy_function(lambda i: rows[i], [index], tf.float32, stateful=False)
            batch.set_shape([None, num_columns])
            return batch

        return take


def _remove(path: str) -> None:
    """Deletes the rows file, unless its folder went first (a temporary one)."""
    with contextlib.suppress(FileNotFoundError):
        os.remove(path)

"""Keeps the accepted rows in memory, as a few tensors that grow geometrically."""

import numpy as np
import tensorflow as tf

from keras_growing_data.storage.row_store import RowStore


class MemoryRowStore(RowStore):
    """Accepted rows, parsed once, served as shuffled batches every epoch.

    Rows are kept as a few immutable float32 tensors ("blocks"). New files
    join a tail; when the tail reaches a quarter of the rows already sealed
    (and at least `min_block_rows`), it is concatenated once into a new
    block, and at a dataset build the tail is concatenated into one tensor.
    So block sizes grow geometrically, their number grows only with
    the logarithm of the row count, and no step ever copies more than the
    tail: the store never holds two copies of its rows. (Chaining
    `Dataset.concatenate` per file instead makes every epoch slower with
    every file: see the benchmarks.)

    Epochs are `RowStore`'s: each batch is gathered from the blocks.

    Example:

    >>> store = MemoryRowStore(seed=7)
    >>> store.append(tf.random.uniform((100, 4)))
    >>> for batch in store.dataset(batch_size=32, shuffle=True):
    ...     print(batch.shape)

    Args:
        min_block_rows: rows a block holds at least before it is sealed.
        seed: seed of the permutations, or `None` for a random one.
    """

    def __init__(self, min_block_rows: int = 1 << 16, seed: int | None = None):
        super().__init__(seed)
        self.min_block_rows = min_block_rows
        self._blocks = []
        self._tail = []
        self._tail_rows = 0

    @property
    def num_rows(self) -> int:
        return sum(_rows(t) for t in self._blocks) + self._tail_rows

    @property
    def num_columns(self) -> int | None:
        first = (self._blocks + self._tail)[:1]
        return int(first[0].shape[1]) if first else None

    @property
    def num_blocks(self) -> int:
        return len(self._blocks) + bool(self._tail)

    def _append(self, rows: tf.Tensor) -> None:
        self._tail.append(rows)
        self._tail_rows += _rows(rows)
        sealed = self.num_rows - self._tail_rows
        if self._tail_rows >= max(self.min_block_rows, sealed // 4):
            self._blocks.append(_concat(self._tail))
            self._tail = []
            self._tail_rows = 0

    def _take_fn(self):
        """A function from global row indices to those rows, as a tensor."""
        if len(self._tail) > 1:
            self._tail = [_concat(self._tail)]
        return _gather_fn(self._blocks + self._tail)


def _concat(tensors: list[tf.Tensor]) -> tf.Tensor:
    return tensors[0] if len(tensors) == 1 else tf.concat(tensors, axis=0)


def _rows(t: tf.Tensor) -> int:
    return int(t.shape[0])


def _gather_fn(blocks: list[tf.Tensor]):
    """A function from global row indices to the rows, across blocks."""
    if len(blocks) == 1:
        return lambda index: tf.gather(blocks[0], index)
    starts = tf.constant(np.cumsum([0] + [_rows(b) for b in blocks[:-1]]), tf.int64)

    def take(index):
        index = tf.cast(index, tf.int64)
        block = tf.cast(tf.searchsorted(starts, index, side="right") - 1, tf.int32)
        local = index - tf.gather(starts, block)
        parts = tf.dynamic_partition(local, block, len(blocks))
        positions = tf.dynamic_partition(tf.range(tf.size(index)), block, len(blocks))
        gathered = [tf.gather(b, p) for b, p in zip(blocks, parts, strict=True)]
        return tf.dynamic_stitch(positions, gathered)

    return take

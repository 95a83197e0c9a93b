"""Keeps the accepted rows in memory, as a few tensors that grow geometrically."""

import numpy as np
import tensorflow as tf

from keras_growing_data.storage.row_store import RowStore
from keras_growing_data.utils.aligned_arrays import shared_tensor


class MemoryRowStore(RowStore):
    """Accepted rows, parsed once, served as shuffled batches every epoch.

    Rows are kept as a few immutable tensors ("blocks", one tensor per
    stored type in each), which share the memory of the arrays appended
    where their alignment allows (no copy). New files join a tail; when the
    tail reaches a quarter of the rows already sealed (and at least
    `min_block_rows`), it is concatenated once into a new block (a file
    that big alone becomes a block as it is), and at a dataset build the
    tail is concatenated into one block. So block sizes grow geometrically, their
    number grows only with the logarithm of the row count, and no step ever
    copies more than the tail: the store never holds two copies of its rows.
    (Chaining `Dataset.concatenate` per file instead makes every epoch slower
    with every file: see the benchmarks.) Dropped rows are freed when they
    make a whole block (it goes), or more than half of one (its live rows
    are copied into a smaller block).

    Epochs are `RowStore`'s: each batch is gathered from the blocks.

    Example:

    >>> store = MemoryRowStore(seed=7)
    >>> store.append({"float32": np.random.rand(100, 4).astype("float32")})
    >>> for batch in store.dataset(batch_size=32, shuffle=True):
    ...     print(batch["float32"].shape)

    Args:
        min_block_rows: rows a block holds at least before it is sealed.
        seed: seed of the permutations, or `None` for a random one.
    """

    def __init__(self, min_block_rows: int = 1 << 16, seed: int | None = None):
        super().__init__(seed)
        self.min_block_rows = min_block_rows
        self._blocks = []
        self._sealed_rows = 0
        self._tail = []
        self._tail_rows = 0

    @property
    def layout(self) -> dict[str, tuple[np.dtype, int]] | None:
        first = (self._blocks + self._tail)[:1]
        if not first:
            return None
        return {key: (np.dtype(t.dtype.as_numpy_dtype), int(t.shape[1])) for key, t in first[0].items()}

    @property
    def num_blocks(self) -> int:
        return len(self._blocks) + bool(self._tail)

    def _append(self, arrays: dict[str, np.ndarray], owned: bool) -> None:
        # Arrays handed over (the reader's are aligned) are shared, not copied.
        block = {key: shared_tensor(array) if owned else tf.constant(array) for key, array in arrays.items()}
        if self._tail and _rows(block) >= max(self.min_block_rows, self._sealed_rows // 4):
            # A big file is a block of its own: concatenating it with the tail would copy it.
            self._seal()
        self._tail.append(block)
        self._tail_rows += _rows(block)
        if self._tail_rows >= max(self.min_block_rows, self._sealed_rows // 4):
            self._seal()

    def _seal(self) -> None:
        """Makes the tail one block of its own."""
        self._blocks.append(_concat(self._tail))
        self._sealed_rows += self._tail_rows
        self._tail = []
        self._tail_rows = 0

    def _release(self) -> None:
        """Frees each block whose rows are all dropped; packs the live rows of one more than half dropped."""
        pieces = list(self._pieces.items())
        at = 0  # The next piece not yet placed.
        starts, stored, block_start = {}, 0, 0
        blocks, tail = [], []
        for kept, block in [(blocks, b) for b in self._blocks] + [(tail, b) for b in self._tail]:
            block_end = block_start + _rows(block)
            inside = []
            while at < len(pieces) and pieces[at][1][0] < block_end:
                inside.append(pieces[at])
                at += 1
            live = sum(rows for _, (_, rows) in inside)
            if live * 2 < _rows(block) and live:
                runs = _runs([(start - block_start, rows) for _, (start, rows) in inside])
                block = {key: tf.concat([t[s : s + n] for s, n in runs], axis=0) for key, t in block.items()}
                packed = stored
                for piece, (_, rows) in inside:
                    starts[piece], packed = packed, packed + rows
            else:
                starts.update((piece, stored + start - block_start) for piece, (start, _) in inside)
            if live:
                kept.append(block)
                stored += _rows(block)
            block_start = block_end
        self._blocks, self._tail = blocks, tail
        self._sealed_rows = sum(_rows(b) for b in blocks)
        self._tail_rows = sum(_rows(b) for b in tail)
        self._moved(starts, stored)

    def _take_fn(self):
        """A function from global row indices to those rows, as a dict of tensors."""
        if len(self._tail) > 1:
            self._tail = [_concat(self._tail)]
        return _gather_fn(self._blocks + self._tail)


def _concat(blocks: list[dict[str, tf.Tensor]]) -> dict[str, tf.Tensor]:
    if len(blocks) == 1:
        return blocks[0]
    return {key: tf.concat([b[key] for b in blocks], axis=0) for key in blocks[0]}


def _runs(pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Pieces `(start, rows)` in order, adjacent ones merged."""
    runs = []
    for start, rows in pieces:
        if runs and sum(runs[-1]) == start:
            runs[-1] = (runs[-1][0], runs[-1][1] + rows)
        else:
            runs.append((start, rows))
    return runs


def _rows(block: dict[str, tf.Tensor]) -> int:
    return int(next(iter(block.values())).shape[0])


def _gather_fn(blocks: list[dict[str, tf.Tensor]]):
    """A function from global row indices to the rows, across blocks."""
    if len(blocks) == 1:
        return lambda index: {key: tf.gather(t, index) for key, t in blocks[0].items()}
    starts = tf.constant(np.cumsum([0] + [_rows(b) for b in blocks[:-1]]), tf.int64)

    def take(index):
        index = tf.cast(index, tf.int64)
        block = tf.cast(tf.searchsorted(starts, index, side="right") - 1, tf.int32)
        local = index - tf.gather(starts, block)
        parts = tf.dynamic_partition(local, block, len(blocks))
        positions = tf.dynamic_partition(tf.range(tf.size(index)), block, len(blocks))
        return {
            key: tf.dynamic_stitch(
                positions, [tf.gather(b[key], p) for b, p in zip(blocks, parts, strict=True)]
            )
            for key in blocks[0]
        }

    return take

"""Keeps the accepted rows and builds each epoch's dataset over them."""

from collections.abc import Callable

import numpy as np
import tensorflow as tf


class RowStore:
    """Accepted rows, parsed once, served as shuffled batches every epoch.

    Rows are kept as a few immutable float32 tensors ("blocks"). New files
    join a tail; when the tail reaches a quarter of the rows already sealed
    (and at least `min_block_rows`), it is concatenated once into a new
    block, and at a dataset build the tail is concatenated into one tensor.
    So block sizes grow geometrically, their number grows only with
    the logarithm of the row count, and no step ever copies more than the
    tail: the store never holds two copies of its rows. Chaining
    `Dataset.concatenate` per file instead makes every epoch slower with
    every file (1,000 links: 13 s for 8,000 rows).

    An epoch's dataset is the batches of a permutation of the row indices,
    drawn anew at each pass, mapped to a gather of rows from the blocks, so
    it costs one `tf.data` element per batch, not per row, and its
    cardinality is known, which gives Keras the true step count.

    Example:

    >>> store = RowStore(seed=7)
    >>> store.append(tf.random.uniform((100, 4)))
    >>> for batch in store.dataset(batch_size=32, shuffle=True):
    ...     print(batch.shape)

    Args:
        min_block_rows: rows a block holds at least before it is sealed.
        seed: seed of the permutations, or `None` for a random one.
    """

    def __init__(self, min_block_rows: int = 1 << 16, seed: int | None = None):
        self.min_block_rows = min_block_rows
        self.version = 0
        self._blocks = []
        self._tail = []
        self._tail_rows = 0
        # (seed, pass number): each pass of a dataset draws its permutation
        # from this pair and counts the pass, so one dataset reshuffles at
        # every pass, and `reseed` pins the next pass's permutation.
        self._seed = tf.Variable([_seed_or_random(seed), 0], dtype=tf.int64, trainable=False)

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

    def append(self, rows: tf.Tensor) -> None:
        """Adds a `[n, columns]` float32 tensor of rows."""
        if self.num_columns not in (None, rows.shape[1]):
            raise ValueError(f"rows have {rows.shape[1]} columns, the store {self.num_columns}")
        self._tail.append(rows)
        self._tail_rows += _rows(rows)
        self.version += 1
        sealed = self.num_rows - self._tail_rows
        if self._tail_rows >= max(self.min_block_rows, sealed // 4):
            self._blocks.append(_concat(self._tail))
            self._tail = []
            self._tail_rows = 0

    def reseed(self, seed: int) -> None:
        """Makes the next pass's permutation a function of `seed` alone."""
        self._seed.assign([seed, 0])

    def dataset(
        self, batch_size: int, shuffle: bool = True, transform: Callable | None = None
    ) -> tf.data.Dataset:
        """Batches of all rows stored now, each row exactly once per pass.

        With `shuffle`, every pass over the dataset draws a new permutation of
        all rows (old and new files mixed), reproducible from the store's seed.

        Args:
            batch_size: rows per batch; the last batch may be smaller.
            shuffle: whether to shuffle the rows.
            transform: a function applied to each `[batch, columns]` tensor in
                the same `map` as the gather (a second `map` would cost a
                `tf.data` element per batch more).
        """
        num_rows = self.num_rows
        num_batches = -(-num_rows // batch_size)
        take = self._take_fn()
        # The permutation lives as long as the pass: 4 bytes a row, not 8.
        index_dtype = tf.int32 if num_rows < 2**31 else tf.int64

        def finish(index):
            rows = take(index)
            return rows if transform is None else transform(rows)

        if shuffle:
            sizes = np.minimum(batch_size, num_rows - np.arange(num_batches, dtype=np.int64) * batch_size)

            def permutation(_):
                seed = self._seed.assign_add([0, 1])
                order = tf.random.experimental.stateless_shuffle(tf.range(num_rows, dtype=index_dtype), seed)
                # The pass's batches are rows of one padded tensor: flat_map
                # then builds no function per pass (one built inside it is
                # instantiated anew every pass, ~15 ms, TF 2.21).
                padded = tf.pad(order, [[0, num_batches * batch_size - num_rows]])
                return tf.data.Dataset.from_tensor_slices(
                    (tf.reshape(padded, [num_batches, batch_size]), tf.constant(sizes, index_dtype))
                )

            dataset = (
                tf.data.Dataset.from_tensors(0)
                .flat_map(_plain(permutation))
                .map(_plain(lambda index, size: finish(index[:size])))
            )
        else:

            def contiguous(i):
                start = tf.cast(i * batch_size, index_dtype)
                return finish(tf.range(start, tf.minimum(start + batch_size, num_rows)))

            dataset = tf.data.Dataset.range(num_batches).map(_plain(contiguous))
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(num_batches))
        return dataset.prefetch(tf.data.AUTOTUNE).with_options(_FIXED_PIPELINE)

    def _take_fn(self):
        """A function from global row indices to those rows, as a tensor."""
        if len(self._tail) > 1:
            self._tail = [_concat(self._tail)]
        return _gather_fn(self._blocks + self._tail)


# tf.data's default graph rewrites run whenever an iterator is made (TF 2.21:
# MakeIterator finalizes the dataset, FinalizeDatasetOp applies them), so at
# every epoch; measured ~15 ms a pass at 8,000 rows, with nothing here for
# them to fuse or parallelise.
_FIXED_PIPELINE = tf.data.Options()
_FIXED_PIPELINE.experimental_optimization.apply_default_optimizations = False


def _plain(function: Callable) -> Callable:
    """`function` as `tf.data` should trace it: as written, without AutoGraph."""
    return tf.autograph.experimental.do_not_convert(function)


def _seed_or_random(seed: int | None) -> int:
    return int(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0] >> 1)


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

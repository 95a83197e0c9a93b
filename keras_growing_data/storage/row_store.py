"""The store interface: accepted rows in, each epoch's dataset out."""

import abc
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence

import numpy as np
import tensorflow as tf

logger = logging.getLogger("keras_growing_data")


class RowStore(abc.ABC):
    """Accepted rows, parsed once, served as shuffled batches every epoch.

    The base owns the epoch semantics, the same for every store: an epoch's
    dataset is the batches of a permutation of all row indices, drawn anew at
    each pass (old and new rows mixed) from a seed and a pass count, mapped to
    a gather of those rows, so it costs one `tf.data` element per batch, not
    per row, and its cardinality is known (Keras shows the true step count).
    A store says how it keeps rows: `append` takes them in, `_take_fn` gives
    a function from row indices to a batch, `_release` frees dropped rows.

    Rows are kept as pieces (a file's rows, or rows appended to it later),
    each with an id that `append` returns; `drop` takes pieces out of the
    epochs that follow (a window of recent data), and the store frees
    their memory or disk once enough of it is dead to be worth a copy.
    Between, an epoch maps its row indices over the live pieces. Rows come as a dict of arrays
    with the same number of rows, one per stored type (`float32`, `int64`,
    string ids as `int32`); a batch is the same dict of `[batch, width]`
    tensors, and `transform` maps it to what the model takes.

    Subclasses: `MemoryRowStore` (tensors in memory), `DiskRowStore` (a
    memory-mapped file).

    Args:
        seed: seed of the permutations, or `None` for a random one.
    """

    def __init__(self, seed: int | None = None):
        self.version = 0  # Counts changes: a dataset built at one version serves until the next.
        # Live piece id -> (first row in the store's own order, rows), by
        # first row; the store's rows not in a piece are dropped, not yet freed.
        self._pieces = {}
        self._runs = None  # `_live_runs`, kept as rows are appended, made anew after a drop.
        self._next_piece = 0
        self._stored_rows = 0
        self._live_rows = 0
        # (seed, pass number): each pass of a dataset draws its permutation
        # from this pair and counts the pass, so one dataset reshuffles at
        # every pass, and `reseed` pins the next pass's permutation.
        self._seed = tf.Variable([_seed_or_random(seed), 0], dtype=tf.int64, trainable=False)

    @property
    def num_rows(self) -> int:
        """Rows an epoch trains on: those stored, less those dropped."""
        return self._live_rows

    @property
    def num_pieces(self) -> int:
        """Pieces not dropped."""
        return len(self._pieces)

    @property
    @abc.abstractmethod
    def layout(self) -> dict[str, tuple[np.dtype, int]] | None:
        """Each array's dtype and width, once rows are stored."""

    def append(
        self, arrays: Mapping[str, np.ndarray], owned: bool = False, pieces: Sequence[int] | None = None
    ) -> list[int]:
        """Adds rows: arrays `[n, width]` of the same `n`, laid out as those stored before.

        Args:
            arrays: the rows, one array per stored type.
            owned: whether the arrays are handed over (never written again by
                the caller): a store may then keep their memory instead of a copy.
            pieces: the row counts of the consecutive pieces the rows are
                (several files restored at once); `None` for one piece.

        Returns:
            The ids of the pieces, for `drop`.
        """
        arrays = {key: np.asanyarray(array) for key, array in arrays.items()}  # A memory map stays one.
        layout = {key: (array.dtype, array.shape[1]) for key, array in arrays.items()}
        if self.layout not in (None, layout):
            raise ValueError(f"rows are laid out as {layout}, the store as {self.layout}")
        if len({len(array) for array in arrays.values()}) != 1:
            raise ValueError(f"the arrays of rows differ in length: {[len(a) for a in arrays.values()]}")
        rows = len(next(iter(arrays.values())))
        pieces = [rows] if pieces is None else [int(n) for n in pieces]
        if sum(pieces) != rows or min(pieces, default=1) < 1:
            raise ValueError(f"pieces {pieces} must each hold a row and add up to the {rows} rows appended")
        self._append(arrays, owned)
        runs = self._live_runs()
        if runs and sum(runs[-1]) == self._stored_rows:
            runs[-1] = (runs[-1][0], runs[-1][1] + rows)
        else:
            runs.append((self._stored_rows, rows))
        ids = []
        for n in pieces:
            ids.append(self._next_piece)
            self._pieces[self._next_piece] = (self._stored_rows, n)
            self._next_piece += 1
            self._stored_rows += n
        self._live_rows += rows
        self.version += 1
        return ids

    def drop(self, pieces: Iterable[int]) -> None:
        """Takes pieces out of every epoch from the next dataset built on; frees them when worth it.

        The memory (or disk) of dropped rows is freed once they are at least
        half of a block (or of the store), so that a window sliding a file at
        a time copies each row a bounded number of times.
        """
        dropped = 0
        for piece in pieces:
            dropped += self._pieces.pop(piece)[1]
        if dropped:
            self._live_rows -= dropped
            self._runs = None
            self.version += 1
            try:
                self._release()
            except (MemoryError, tf.errors.OpError) as e:  # The dropped rows stay, unused, for now.
                logger.warning("Could not free the memory of dropped rows now: %s", e)

    def _live_runs(self) -> list[tuple[int, int]]:
        """The live rows as runs `(first stored row, rows)`, adjacent pieces merged, in order.

        Kept up to date as rows are appended, so that a file appended to a
        thousand times (a thousand pieces) costs no more per epoch than one.
        """
        if self._runs is None:
            self._runs = []
            for start, rows in self._pieces.values():
                if self._runs and sum(self._runs[-1]) == start:
                    self._runs[-1] = (self._runs[-1][0], self._runs[-1][1] + rows)
                else:
                    self._runs.append((start, rows))
        return self._runs

    def _moved(self, starts: Mapping[int, int], stored_rows: int) -> None:
        """Notes where the live pieces are after the store freed dropped rows, and its new size."""
        self._pieces = {piece: (starts[piece], rows) for piece, (_, rows) in self._pieces.items()}
        self._stored_rows = stored_rows
        self._runs = None

    @abc.abstractmethod
    def _release(self) -> None:
        """Frees the memory or disk of dropped rows, where enough is dead (see `drop`)."""

    @abc.abstractmethod
    def _append(self, arrays: dict[str, np.ndarray], owned: bool) -> None:
        """Keeps rows that `append` checked; raises, keeping nothing of them, if it cannot."""

    @abc.abstractmethod
    def _take_fn(self) -> Callable[[tf.Tensor], object]:
        """A function from a 1-D tensor of row indices to those rows, as a dict of tensors."""

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
            transform: a function applied to each batch (a dict of
                `[batch, width]` tensors) in the same `map` as the gather (a second `map` would cost a
                `tf.data` element per batch more).
        """
        num_rows = self.num_rows
        num_batches = -(-num_rows // batch_size)
        take = _over_live_rows(self._take_fn(), self._live_runs(), self._stored_rows)
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


# tf.data's default graph rewrites run whenever an iterator is made (TF 2.21:
# MakeIterator finalizes the dataset, FinalizeDatasetOp applies them), so at
# every epoch; measured ~15 ms a pass at 8,000 rows, with nothing here for
# them to fuse or parallelise.
_FIXED_PIPELINE = tf.data.Options()
_FIXED_PIPELINE.experimental_optimization.apply_default_optimizations = False


def _over_live_rows(take: Callable, runs: list[tuple[int, int]], stored_rows: int) -> Callable:
    """`take` (of stored row indices) as a function of the indices of the live rows alone."""
    if runs == [(0, stored_rows)] or not runs:
        return take
    live_starts = tf.constant(np.cumsum([0] + [rows for _, rows in runs[:-1]]), tf.int64)
    stored_starts = tf.constant([start for start, _ in runs], tf.int64)

    def take_live(index):
        index = tf.cast(index, tf.int64)
        run = tf.searchsorted(live_starts, index, side="right") - 1
        return take(tf.gather(stored_starts, run) + index - tf.gather(live_starts, run))

    return take_live


def _plain(function: Callable) -> Callable:
    """`function` as `tf.data` should trace it: as written, without AutoGraph."""
    return tf.autograph.experimental.do_not_convert(function)


def _seed_or_random(seed: int | None) -> int:
    return int(np.random.SeedSequence(seed).generate_state(1, np.uint64)[0] >> 1)

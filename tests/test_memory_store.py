import math

import numpy as np
import pytest
import tensorflow as tf

from keras_growing_data.storage.memory_store import MemoryRowStore


def ids_of(dataset):
    return np.concatenate([batch["float32"][:, 0].numpy() for batch in dataset]).astype(int)


def grown_store(sizes, min_block_rows=1 << 16, seed=None):
    store = MemoryRowStore(min_block_rows=min_block_rows, seed=seed)
    first = 0
    for size in sizes:
        ids = np.arange(first, first + size, dtype="float32")
        store.append({"float32": np.column_stack([ids, ids * 2])})
        first += size
    return store, first


def test_each_pass_covers_every_row_once_across_blocks():
    store, total = grown_store([5, 3, 40, 1, 17, 90, 2], min_block_rows=4)
    assert store.num_blocks > 2
    dataset = store.dataset(batch_size=8, shuffle=True)
    assert int(dataset.cardinality()) == math.ceil(total / 8)
    first, second = ids_of(dataset), ids_of(dataset)
    assert sorted(first) == list(range(total)) == sorted(second)
    assert list(first) != list(second), "each pass draws a new permutation"


def test_shuffle_mixes_old_and_new_rows():
    store, total = grown_store([100, 100], min_block_rows=1)
    order = ids_of(store.dataset(batch_size=50))
    assert (order[:100] >= 100).sum() > 20


def test_seed_reproduces_the_permutations():
    passes = []
    for _ in range(2):
        store, _ = grown_store([30, 30], min_block_rows=8, seed=5)
        dataset = store.dataset(batch_size=8)
        passes.append([list(ids_of(dataset)) for _ in range(3)])
    assert passes[0] == passes[1]
    assert passes[0][0] != passes[0][1]
    store.reseed(11)
    first = list(ids_of(dataset))
    store.reseed(11)
    assert list(ids_of(dataset)) == first


def test_without_shuffle_rows_come_in_arrival_order():
    store, total = grown_store([3, 4, 5], min_block_rows=2)
    batches = [b["float32"].numpy() for b in store.dataset(batch_size=5, shuffle=False)]
    assert [len(b) for b in batches] == [5, 5, 2]
    np.testing.assert_array_equal(np.concatenate(batches)[:, 1], np.arange(total) * 2)


def test_blocks_stay_few_after_a_thousand_arrivals():
    store, total = grown_store([8] * 1000, min_block_rows=64)
    assert store.num_rows == total == 8000
    # Sealed blocks grow by a quarter at least: log(8000 / 64) / log(1.25) + tail.
    assert store.num_blocks <= math.ceil(math.log(8000 / 64) / math.log(1.25)) + 2
    assert sorted(ids_of(store.dataset(batch_size=64))) == list(range(total))


def test_element_spec_is_fixed_as_the_data_grows():
    store, _ = grown_store([10])
    spec = store.dataset(batch_size=4).element_spec
    store.append({"float32": np.zeros((25, 2), "float32")})
    assert (
        store.dataset(batch_size=4).element_spec == spec == {"float32": tf.TensorSpec([None, 2], tf.float32)}
    )


def test_rows_of_several_types_stay_together_across_blocks():
    store = MemoryRowStore(min_block_rows=4, seed=1)
    for first, size in [(0, 5), (5, 9), (14, 2), (16, 30)]:
        ids = np.arange(first, first + size)
        store.append(
            {
                "float32": ids[:, None].astype("float32"),
                "int64": -ids[:, None],
                "string": (ids % 3)[:, None].astype("int32"),
            }
        )
    assert store.num_blocks > 2 and store.num_rows == 46
    batches = list(store.dataset(batch_size=8))
    ids = np.concatenate([b["float32"][:, 0].numpy() for b in batches]).astype(int)
    assert sorted(ids) == list(range(46))
    np.testing.assert_array_equal(np.concatenate([b["int64"][:, 0].numpy() for b in batches]), -ids)
    np.testing.assert_array_equal(np.concatenate([b["string"][:, 0].numpy() for b in batches]), ids % 3)
    with pytest.raises(ValueError, match="rows are laid out as"):
        store.append({"float32": np.zeros((2, 1), "float32")})
    assert store.num_rows == 46

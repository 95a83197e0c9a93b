import numpy as np
import pytest
import tensorflow as tf

from keras_growing_data.training.padded_batches import padded_batches


def batches_of(rows, batch_size):
    ids = np.arange(rows, dtype="float32")
    return tf.data.Dataset.from_tensor_slices((ids[:, None], ids)).batch(batch_size)


def test_every_batch_is_padded_to_the_batch_size_and_every_row_keeps_its_weight_once():
    padded = list(padded_batches(batches_of(37, 16), 16))
    assert [tuple(x.shape) for x, _, _ in padded] == [(16, 1)] * 3
    trained = []
    for x, y, weight in padded:
        np.testing.assert_array_equal(x.numpy()[:, 0], y.numpy())
        trained += [int(i) for i in y.numpy()[weight.numpy() > 0]]
    np.testing.assert_array_equal(padded[0][2], 1.0)  # Full batches: exactly 1.
    # 5 real rows of 16: weight 16/5, then 11 copies of real rows with weight 0.
    np.testing.assert_allclose(padded[2][2], [3.2] * 5 + [0.0] * 11, rtol=1e-7)
    assert set(padded[2][1].numpy()[5:]) <= set(range(32, 37))
    assert sorted(trained) == list(range(37))


@pytest.mark.parametrize("rows", [1, 5, 15, 16])
def test_a_padded_batch_has_the_unpadded_batch_mean(rows):
    values = np.random.default_rng(rows).uniform(size=rows).astype("float32")
    dataset = tf.data.Dataset.from_tensors((values[:, None], values))
    x, _, weight = next(iter(padded_batches(dataset, 16)))
    # Keras's "sum_over_batch_size": the weighted sum over all 16 rows, divided by 16.
    np.testing.assert_allclose(np.sum(x.numpy()[:, 0] * weight.numpy()) / 16, values.mean(), rtol=1e-6)


def test_class_weights_are_folded_into_the_sample_weights():
    labels = np.array([0, 1, 1, 2, 0], "float32")
    dataset = tf.data.Dataset.from_tensors((labels[:, None], labels))
    _, y, weight = next(iter(padded_batches(dataset, 8, class_weight={0: 1.0, 1: 2.0, 2: 0.5})))
    np.testing.assert_allclose(weight[:5], np.array([1, 2, 2, 0.5, 1]) * 8 / 5, rtol=1e-6)
    np.testing.assert_array_equal(weight[5:], 0.0)
    np.testing.assert_array_equal(y[:5], labels)

"""Pads batches to a fixed row count with zero-weight copies, reweighting the real rows."""

from collections.abc import Mapping

import tensorflow as tf

# Keras's own conversion of `class_weight` to sample weights, so that a
# padded run weighs classes exactly as `model.fit(class_weight=...)` does.
from keras.src.trainers.data_adapters.tf_dataset_adapter import make_class_weight_map_fn


def padded_rows(x, y, sample_weight, padded: int, rows: tf.Tensor):
    """Rows `rows` of the batch `(x, y)` padded to `padded` rows, as `(x, y, sample_weight)`.

    A batch of `n <= padded` rows is padded with copies of its first rows
    (real values, so that no NaN can arise), which get sample weight 0, while
    its real rows get `padded / n` (times their own `sample_weight`, if
    any). With Keras's default loss reduction (`"sum_over_batch_size"`: the
    weighted sum over the `padded` rows, divided by `padded`), the loss and
    its gradient are the unpadded batch's, and so are sample-weighted means
    such as `"mae"`. A full batch gets weight exactly 1.

    Args:
        x: the batch's features (any nest of tensors `[n, ...]`).
        y: its targets (any nest).
        sample_weight: its sample weights `[n]`, or `None`.
        padded: the row count the batch is padded to, at least `n`.
        rows: the positions in `[0, padded)` of the rows to return.
    """
    n = tf.shape(tf.nest.flatten(x)[0])[0]
    real_weight = tf.cast(padded, tf.float32) / tf.cast(n, tf.float32)
    weight = tf.where(rows < n, real_weight, tf.zeros([], tf.float32))
    index = rows % n
    if sample_weight is not None:
        weight *= tf.gather(tf.cast(sample_weight, tf.float32), index)

    def take(t):
        return tf.gather(t, index)

    return tf.nest.map_structure(take, x), tf.nest.map_structure(take, y), weight


def padded_batches(
    dataset: tf.data.Dataset, batch_size: int, class_weight: Mapping[int, float] | None = None
) -> tf.data.Dataset:
    """Every `(x, y)` batch padded to `batch_size` rows, as `(x, y, sample_weight)` (see `padded_rows`).

    So every batch has the same, static shape, and a train step compiled
    for one shape (JAX, `torch.compile`) is compiled once however the row
    count grows.

    Args:
        dataset: batches `(x, y)` of at most `batch_size` rows.
        batch_size: the rows of every padded batch.
        class_weight: as in `model.fit`; folded into the sample weights
            (Keras takes no `class_weight` next to sample weights).
    """
    if class_weight:
        dataset = dataset.map(make_class_weight_map_fn(class_weight))
    rows = tf.range(batch_size)

    def pad(x, y, sample_weight=None):
        return padded_rows(x, y, sample_weight, batch_size, rows)

    return dataset.map(tf.autograph.experimental.do_not_convert(pad)).prefetch(tf.data.AUTOTUNE)

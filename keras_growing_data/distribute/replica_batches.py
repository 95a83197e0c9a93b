"""Cuts each global batch into equal, reweighted parts, one per replica."""

import tensorflow as tf

from keras_growing_data.training.padded_batches import padded_rows


def replica_batches(dataset: tf.data.Dataset, num_replicas: int, replica: int) -> tf.data.Dataset:
    """One replica's part of every global `(x, y)` batch, as `(x, y, sample_weight)`.

    A global batch of `n` rows is cut into `num_replicas` parts of
    `ceil(n / num_replicas)` rows, and replica `r` takes part `r`. When `n`
    is not a multiple of `num_replicas`, the batch is padded to one with
    zero-weight copies and its real rows reweighted (`padded_rows`). So all
    replicas run the same number of steps on batches of the same shape, each
    real row is in exactly one part, and with `"sum_over_batch_size"` losses
    (mean over each part, scaled by `1 / num_replicas` and summed by the
    all-reduce) a step's loss and gradient are those of the unpadded global
    batch. Full batches get weight exactly 1.

    Args:
        dataset: global batches `(x, y)`; `y` may be a tuple.
        num_replicas: replicas in sync, across all workers.
        replica: this part's index, in `[0, num_replicas)`.
    """

    def part(x, y):
        n = tf.shape(tf.nest.flatten(x)[0])[0]
        per_replica = (n + num_replicas - 1) // num_replicas
        rows = tf.range(replica * per_replica, (replica + 1) * per_replica)
        return padded_rows(x, y, None, per_replica * num_replicas, rows)

    return dataset.map(tf.autograph.experimental.do_not_convert(part))

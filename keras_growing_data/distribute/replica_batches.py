"""Cuts each global batch into equal, reweighted parts, one per replica."""

import tensorflow as tf


def replica_batches(dataset: tf.data.Dataset, num_replicas: int, replica: int) -> tf.data.Dataset:
    """One replica's part of every global `(x, y)` batch, as `(x, y, sample_weight)`.

    A global batch of `n` rows is cut into `num_replicas` parts of
    `ceil(n / num_replicas)` rows, and replica `r` takes part `r`. When `n`
    is not a multiple of `num_replicas`, the batch is padded to one with
    copies of its first rows (real values, so no NaN can arise), which get
    sample weight 0, while its real rows get `padded / n`. So all replicas
    run the same number of steps on batches of the same shape, each real row
    is in exactly one part, and with `"sum_over_batch_size"` losses (mean over
    each part, scaled by `1 / num_replicas` and summed by the all-reduce) a
    step's loss and gradient are those of the unpadded global batch. Full
    batches get weight exactly 1.

    Args:
        dataset: global batches `(x, y)`; `y` may be a tuple.
        num_replicas: replicas in sync, across all workers.
        replica: this part's index, in `[0, num_replicas)`.
    """

    def part(x, y):
        n = tf.shape(tf.nest.flatten(x)[0])[0]
        per_replica = (n + num_replicas - 1) // num_replicas
        padded = per_replica * num_replicas
        rows = tf.range(replica * per_replica, (replica + 1) * per_replica)
        real_weight = tf.cast(padded, tf.float32) / tf.cast(n, tf.float32)
        weight = tf.where(rows < n, real_weight, tf.zeros([], tf.float32))
        index = rows % n

        def take(t):
            return tf.gather(t, index)

        return tf.nest.map_structure(take, x), tf.nest.map_structure(take, y), weight

    return dataset.map(tf.autograph.experimental.do_not_convert(part))

"""A run id that every worker of a run agrees on."""

import secrets

import tensorflow as tf


def agree_on_run_id(strategy: tf.distribute.Strategy, is_chief: bool) -> str:
    """A run id drawn by the chief, learnt by every worker through one all-reduce.

    Uses the strategy's own collective (the chief contributes its random
    number, the others 0), so a snapshot left in the folder by an earlier run
    is never mistaken for this run's, whichever worker starts first.
    """
    token = secrets.randbits(62) if is_chief else 0

    @tf.function
    def agree():
        def replica_fn():
            value = tf.constant(token, tf.int64)
            return tf.distribute.get_replica_context().all_reduce("SUM", value)

        return strategy.run(replica_fn)

    value = strategy.experimental_local_results(agree())[0]
    return f"run-{int(value):016x}"

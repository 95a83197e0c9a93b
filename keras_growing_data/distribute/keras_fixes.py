"""Patches that let Keras 3.15's TF `fit` run under `MultiWorkerMirroredStrategy`.

Keras 3.15.1's TF trainer (`keras/src/backend/tensorflow/trainer.py`), with
TF 2.21.0, fails under MultiWorkerMirroredStrategy in two places; TF issue
#72388 (MWMS with Keras 3 `fit`) points at Keras. Both were reproduced with
two local workers before patching:

1. `TensorFlowTrainer._maybe_symbolic_build` pulls a batch and reduces it
   across replicas with `strategy.reduce("MEAN", batch, axis=None)` only to
   learn its shapes; under MWMS that fails ("Attempt to convert a value
   (PerReplica...) to a Tensor"). The fix builds from the dataset's element
   spec instead: no data is pulled, so no shuffle pass is spent either.
2. `reduce_per_replica` reduces the step's logs with
   `strategy.reduce("MEAN", v, axis=0)` in multi-worker mode, which fails on
   the scalar logs ("Invalid reduction dimension 0 for input with 0
   dimensions"). The fix takes the mean across replicas (`axis=None`), as
   the single-worker branch of the same function does.

`keras_multi_worker_fixes` patches both for the duration of a `with` block;
both replacements defer to the originals outside multi-worker MWMS.
"""

import contextlib
import threading

import keras
import tensorflow as tf

_fixes_lock = threading.Lock()
_fixes_depth = 0
_originals = None


@contextlib.contextmanager
def keras_multi_worker_fixes():
    """Patches Keras 3.15's TF `fit` for `MultiWorkerMirroredStrategy`, inside the block.

    See the module docstring. `MultiWorkerTrainer.fit` applies it
    by itself; use it directly only to call `model.fit` under MWMS yourself.
    Nested and concurrent uses are counted; the originals come back when the
    last one ends.
    """
    global _fixes_depth, _originals
    from keras.src.backend.tensorflow import trainer as tf_trainer

    with _fixes_lock:
        if _fixes_depth == 0:
            _originals = (tf_trainer.TensorFlowTrainer._maybe_symbolic_build, tf_trainer.reduce_per_replica)
            tf_trainer.TensorFlowTrainer._maybe_symbolic_build = _fixed_symbolic_build(_originals[0])
            tf_trainer.reduce_per_replica = _fixed_reduce_per_replica(_originals[1])
        _fixes_depth += 1
    try:
        yield
    finally:
        with _fixes_lock:
            _fixes_depth -= 1
            if _fixes_depth == 0:
                tf_trainer.TensorFlowTrainer._maybe_symbolic_build = _originals[0]
                tf_trainer.reduce_per_replica = _originals[1]
                _originals = None


def _is_multi_worker(strategy) -> bool:
    from keras.src.backend.tensorflow import trainer as tf_trainer

    return tf_trainer._collective_all_reduce_multi_worker(strategy)


def _fixed_symbolic_build(original):
    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self._distribute_strategy
        if iterator is None or strategy is None or not _is_multi_worker(strategy):
            return original(self, iterator=iterator, data_batch=data_batch)
        spec = iterator.data_adapter.get_tf_dataset().element_spec
        data_batch = tf.nest.map_structure(_symbolic_input, spec)
        with strategy.scope():
            self._symbolic_build(data_batch=data_batch)

    return _maybe_symbolic_build


def _symbolic_input(spec) -> keras.KerasTensor:
    # A distributed dataset's spec is a PerReplicaSpec (TF 2.21,
    # tensorflow/python/distribute/values.py) holding one spec per local replica.
    value_specs = getattr(spec, "_value_specs", None)
    if value_specs:
        spec = value_specs[0]
    return keras.KerasTensor(tuple(spec.shape.as_list()), spec.dtype.name)


def _fixed_reduce_per_replica(original):
    def reduce_per_replica(values, strategy, reduction):
        if reduction in ("auto", "mean") and _is_multi_worker(strategy):
            return tf.nest.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
        return original(values, strategy, reduction)

    return reduce_per_replica

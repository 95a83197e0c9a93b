"""`GrowingDatasetTrainer` for one worker of a multi-worker run."""

import contextlib

import keras

from keras_growing_data.distribute.keras_fixes import keras_multi_worker_fixes
from keras_growing_data.distribute.worker_callback import ON_JAX, WorkerDataCallback
from keras_growing_data.training.trainer import GrowingDatasetTrainer
from keras_growing_data.utils.keras_backend import require_tensorflow_backend


class MultiWorkerTrainer(GrowingDatasetTrainer):
    """`GrowingDatasetTrainer` for one worker of a multi-worker run.

    Run it on every worker, with the same model, arguments and callbacks;
    the model must be built and compiled inside `strategy.scope()`. It trains
    as `GrowingDatasetTrainer` does (one `fit` per epoch, callbacks that see
    one run), with the epochs settled by the chief (see `WorkerDataCallback`)
    and Keras's `fit` patched for MWMS while it runs
    (`keras_multi_worker_fixes`). Callbacks run on every worker; let only the
    chief write files (`data.is_chief`).

    `fit` takes `GrowingDatasetTrainer.fit`'s arguments. `wait_for_data` is
    how long the chief waits for the first rows; the followers wait for its
    first snapshot that long plus `snapshot_timeout`. Not yet supported
    (`NotImplementedError`): `validation_data`, `class_weight`; and
    `steps_per_execution` must be 1 (`ValueError`), as must the model's
    strategy be the data's.

    Example:

    ```python
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    with strategy.scope():
        model = make_model()
    data = WorkerDataCallback("/shared/incoming", "price", batch_size=64, seed=1, strategy=strategy)
    history = MultiWorkerTrainer(model, data).fit(epochs=20)
    ```

    Args:
        model: a Keras model built and compiled in the strategy's scope.
        data: this worker's `WorkerDataCallback`.

    Raises:
        RuntimeError: Keras does not run on TensorFlow.
    """

    def __init__(self, model: keras.Model, data: WorkerDataCallback):
        require_tensorflow_backend("MultiWorkerTrainer (multi-worker training on tf.distribute)", ON_JAX)
        if not isinstance(data, WorkerDataCallback):
            raise TypeError(f"data must be a WorkerDataCallback, got {type(data).__name__}.")
        super().__init__(model, data)

    def _check_can_fit(self, validation_data, class_weight) -> None:
        if validation_data is not None:
            raise NotImplementedError("MultiWorkerTrainer does not run validation yet.")
        if class_weight is not None:
            raise NotImplementedError("MultiWorkerTrainer does not take class_weight.")
        if getattr(self.model, "steps_per_execution", 1) > 1:
            # Measured on Keras 3.15.1 / TF 2.21.0: fails under MWMS even with the fixes.
            raise ValueError("MultiWorkerTrainer needs steps_per_execution=1 (compile's default).")
        self.data.set_model(self.model)
        if self.model.distribute_strategy is not self.data.strategy:
            raise ValueError(
                "The model was not made in the data's strategy scope: build and compile it inside "
                "`with strategy.scope():`."
            )

    @contextlib.contextmanager
    def _fit_context(self):
        """Keras's `fit` patched for MWMS; the followers told when this worker fails."""
        with keras_multi_worker_fixes():
            try:
                yield
            except BaseException as e:
                self.data.end_run(f"failed: {type(e).__name__}: {e}"[:500])
                raise

"""Trains a Keras model one epoch at a time on a growing folder."""

import contextlib

import keras

from keras_growing_data.callback import GrowingDataCallback


class GrowingDatasetTrainer:
    """Runs `model.fit` one epoch at a time, growing the data between epochs.

    Inside a single `model.fit`, a dataset that grows between epochs is cut
    to the first epoch's step count (Keras 3.15,
    `keras/src/trainers/epoch_iterator.py` caches the step count). So each
    epoch is its own `model.fit` call on a fresh snapshot of the data, and
    the callbacks are wrapped so that they see one training run, exactly as
    in one `model.fit` on static data: one `on_train_begin`, one
    `on_train_end`, absolute epoch numbers, one `History` for the run. The
    epoch logs gain `rows` (rows trained in the epoch) and `files` (files
    accepted so far).

    Example:

    ```python
    data = GrowingDataCallback("incoming/", label="price", batch_size=64)
    trainer = GrowingDatasetTrainer(model, data)
    history = trainer.fit(
        epochs=50, callbacks=[keras.callbacks.EarlyStopping(patience=5)]
    )
    ```

    Args:
        model: a compiled Keras model.
        data: the `GrowingDataCallback` watching the training folder.
    """

    def __init__(self, model: keras.Model, data: GrowingDataCallback):
        if not isinstance(data, GrowingDataCallback):
            raise TypeError(f"data must be a GrowingDataCallback, got {type(data).__name__}.")
        self.model = model
        self.data = data

    def fit(
        self,
        epochs: int = 1,
        callbacks: list[keras.callbacks.Callback] | None = None,
        verbose: str | int = "auto",
        validation_data=None,
        initial_epoch: int = 0,
        wait_for_data: float = 0,
        validation_freq: int = 1,
        class_weight: dict | None = None,
    ) -> keras.callbacks.History:
        """Trains for `epochs` epochs, taking in new files at each boundary.

        Args:
            epochs: index of the epoch to stop before, as in `model.fit`.
            callbacks: Keras callbacks; they see one training run.
            verbose: as in `model.fit`.
            validation_data: a `GrowingDataCallback` over a validation folder
                (polled at every boundary, never shuffled) or anything
                `model.fit` accepts as `validation_data`.
            initial_epoch: the epoch to start at, as in `model.fit`.
            wait_for_data: seconds to wait for the first rows when the folder
                has none; with 0, an empty folder fails at once.
            validation_freq: as in `model.fit`.
            class_weight: as in `model.fit`.

        Returns:
            The run's `keras.callbacks.History` (also `model.history`).
        """
        self.data.wait_for_rows(wait_for_data)
        if isinstance(validation_data, GrowingDataCallback):
            validation_data.poll()
            if validation_data.num_rows == 0:
                # An epoch without validation would have no val_* logs, and
                # History's lists would no longer line up with the epochs.
                raise ValueError(
                    f"No validation rows in {validation_data.directory!r}: put a first file there "
                    "before training, or pass validation_data=None."
                )
        run = TrainingRunCallbacks(
            [self.data, *(callbacks or [])],
            add_history=True,
            add_progbar=verbose != 0,
            model=self.model,
            verbose=verbose,
            epochs=epochs,
            steps=None,
        )
        model = self.model
        with self.data.driven_by_trainer(), _finalize_once(model):
            run.begin_run()
            # BackupAndRestore sets `_initial_epoch` in on_train_begin, and
            # every later `fit` call would obey it (Keras 3.15, TF trainer's
            # fit: `initial_epoch = self._initial_epoch or initial_epoch`).
            epoch = model._initial_epoch or initial_epoch
            model._initial_epoch = None
            while epoch < epochs:
                dataset = self.data.epoch_dataset(epoch)
                run.set_params(
                    {
                        "verbose": verbose,
                        "epochs": epochs,
                        "steps": _num_batches(dataset),
                    }
                )
                model.fit(
                    dataset,
                    epochs=epoch + 1,
                    initial_epoch=epoch,
                    callbacks=run,
                    verbose=verbose,
                    shuffle=False,  # The dataset shuffles itself.
                    validation_data=_validation_dataset(validation_data),
                    validation_freq=validation_freq,
                    class_weight=class_weight,
                )
                epoch += 1
                if model.stop_training:
                    break
        run.end_run()
        return run.history


class TrainingRunCallbacks(keras.callbacks.CallbackList):
    """A `CallbackList` that spans many `fit` calls as one training run.

    `model.fit` takes a ready `CallbackList` as is (Keras 3.15,
    `keras/src/backend/tensorflow/trainer.py`), adding no History or
    progress bar, and calls its train begin and end hooks on every call;
    here those are ignored, and `begin_run`/`end_run` call them once.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._last_epoch_logs = None

    @property
    def history(self) -> keras.callbacks.History:
        return self._history

    def begin_run(self) -> None:
        super().on_train_begin()

    def end_run(self) -> None:
        super().on_train_end(self._last_epoch_logs)

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch, logs)
        self._last_epoch_logs = logs


@contextlib.contextmanager
def _finalize_once(model: keras.Model):
    """Defers the optimizer's end-of-training step to the end of the run.

    `fit` ends with `optimizer.finalize_variable_values`, which, with
    `use_ema=True`, overwrites the weights with their moving averages. Once
    per epoch would change training, so it runs once, at the end.
    """
    optimizer = model.optimizer
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        yield
        return
    optimizer.finalize_variable_values = lambda var_list: None
    try:
        yield
    finally:
        del optimizer.finalize_variable_values
    optimizer.finalize_variable_values(model.trainable_weights)


def _num_batches(dataset) -> int:
    """An epoch's batch count; a `tf.distribute` dataset's `cardinality` is an attribute."""
    cardinality = dataset.cardinality
    return int(cardinality() if callable(cardinality) else cardinality)


def _validation_dataset(validation_data):
    if not isinstance(validation_data, GrowingDataCallback):
        return validation_data
    validation_data.poll()
    return validation_data.build_dataset(shuffle=False)

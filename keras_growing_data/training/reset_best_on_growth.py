"""A callback that makes EarlyStopping and its kin start over when the validation folder changes."""

from collections.abc import Callable, Sequence

import keras

from keras_growing_data.training.callback import GrowingDataCallback

RESETTABLE = (
    keras.callbacks.EarlyStopping,
    keras.callbacks.ModelCheckpoint,
    keras.callbacks.ReduceLROnPlateau,
)


class ResetBestOnGrowth(keras.callbacks.Callback):
    """Makes monitoring callbacks start over each time the validation folder's rows changed.

    `EarlyStopping`, `ModelCheckpoint(save_best_only=True)` and
    `ReduceLROnPlateau` compare each epoch's `val_*` value with the best one
    so far. When a file lands in a validation folder, `val_loss` is measured
    on other rows from that epoch on, and often jumps: the old best was
    measured on fewer rows and cannot be beaten, so `EarlyStopping` stops
    and restores (`restore_best_weights=True`) weights from before the
    jump, and `ModelCheckpoint` keeps the file saved before it. With this
    callback, at the first epoch on new validation rows each of them
    forgets its best value and its patience count (and `EarlyStopping`
    its best weights), as at the start of training: values are compared
    only when measured on the same rows.

    Example:

    ```python
    validation = GrowingDataCallback("validation/", label="price")
    stop = keras.callbacks.EarlyStopping(patience=5, restore_best_weights=True)
    trainer.fit(
        epochs=100,
        validation_data=validation,
        callbacks=[stop, ResetBestOnGrowth(validation, [stop])],
    )
    ```

    Args:
        validation: the callback of the validation folder given to `fit`
            as `validation_data`.
        callbacks: the `EarlyStopping`, `ModelCheckpoint` and
            `ReduceLROnPlateau` callbacks to reset, each monitoring a `val_`
            quantity; pass them to `fit` too, in any order.
        print_fn: where the line saying which callbacks start over goes.
    """

    def __init__(
        self,
        validation: GrowingDataCallback,
        callbacks: Sequence[keras.callbacks.Callback],
        print_fn: Callable[[str], None] = print,
    ):
        super().__init__()
        if not isinstance(validation, GrowingDataCallback):
            raise TypeError(
                f"validation must be the GrowingDataCallback of a validation folder, "
                f"got {type(validation).__name__}."
            )
        if isinstance(callbacks, keras.callbacks.Callback) or not isinstance(callbacks, Sequence):
            raise TypeError(f"callbacks must be a list of callbacks, got {type(callbacks).__name__}.")
        if not callbacks:
            raise ValueError("callbacks is empty: give the EarlyStopping (or other) callbacks to reset.")
        for callback in callbacks:
            if not isinstance(callback, RESETTABLE):
                raise TypeError(
                    "callbacks may hold EarlyStopping, ModelCheckpoint and ReduceLROnPlateau, "
                    f"got {type(callback).__name__}."
                )
            if not callback.monitor.startswith("val_"):
                raise ValueError(
                    f"{type(callback).__name__} monitors {callback.monitor!r}, which is not measured on "
                    "the validation folder: only val_ quantities start over when it changes. The "
                    "training rows change at every growth and the model during each epoch, so their "
                    "loss is no stopping signal; stop with StopWhenIdle or a fixed number of epochs."
                )
        if not callable(print_fn):
            raise TypeError(f"print_fn must be callable, got {print_fn!r}.")
        self.validation = validation
        self.callbacks = list(callbacks)
        self.print_fn = print_fn

    def on_train_begin(self, logs=None):
        if self.validation._trainer_active:
            raise ValueError(
                "ResetBestOnGrowth was given the training folder's callback: give it the validation "
                "folder's, the one passed to fit as validation_data."
            )
        self.rows_version = None
        self.rows = None
        # ModelCheckpoint keeps its best (its initial_value_threshold) at train begin; the others
        # set theirs to None (Keras 3.15.1, callbacks/early_stopping.py, reduce_lr_on_plateau.py).
        self.best_at_start = [
            c.best if isinstance(c, keras.callbacks.ModelCheckpoint) else None for c in self.callbacks
        ]

    def on_epoch_begin(self, epoch, logs=None):
        # The trainer polls the validation folder before each epoch's `fit`, so its rows are the
        # ones this epoch's `val_*` values will be measured on; and every callback's
        # `on_epoch_begin` runs before any `on_epoch_end`, so the reset comes first in any order.
        version, rows = self.validation.ingest.rows_version, self.validation.num_rows
        if self.rows_version is not None and version != self.rows_version:
            for callback, best in zip(self.callbacks, self.best_at_start, strict=True):
                callback.best = best
                if isinstance(callback, (keras.callbacks.EarlyStopping, keras.callbacks.ReduceLROnPlateau)):
                    callback.wait = 0
                if isinstance(callback, keras.callbacks.EarlyStopping):
                    callback.best_weights = None  # This epoch's weights become the first best.
            names = " and ".join(type(c).__name__ for c in self.callbacks)
            verb = "starts" if len(self.callbacks) == 1 else "start"
            self.print_fn(
                f"Epoch {epoch + 1}: the validation rows changed ({self.rows} -> {rows} rows): "
                f"{names} {verb} over."
            )
        self.rows_version, self.rows = version, rows

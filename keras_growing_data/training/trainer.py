"""Trains a Keras model one epoch at a time on a growing folder."""

import contextlib

import keras

from keras_growing_data.training.callback import GrowingDataCallback
from keras_growing_data.training.counts_progbar_logger import CountsProgbarLogger
from keras_growing_data.training.padded_metrics import metrics_of_real_rows
from keras_growing_data.training.text_labels import text_label_problem
from keras_growing_data.training.torn_backup import repair_torn_backups
from keras_growing_data.utils.arguments import check_int, check_number


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
        if not isinstance(model, keras.Model):
            raise TypeError(f"model must be a keras.Model, got {type(model).__name__}.")
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
        validation_freq: int | list[int] = 1,
        class_weight: dict | None = None,
        validation_split: float = 0.0,
        validation_batch_size: int | None = None,
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
            validation_split: not supported, since the rows it would hold
                out change as the folder grows; give a validation folder as
                `validation_data` instead.
            validation_batch_size: rows per batch of validation arrays, as in
                `model.fit`: by default the training data's `batch_size`. A
                validation folder or dataset brings its own batches.

        Returns:
            The run's `keras.callbacks.History` (also `model.history`).

        Raises:
            ValueError: before the first epoch, for arguments `model.fit`
                refuses or this trainer cannot take, and for a label whose
                type was inferred as `"string"` where strings are served as
                text, which a loss cannot take (the message names the file
                and the value, and says what to do).
        """
        callbacks = _check_fit_arguments(
            self.model,
            self.data,
            epochs=epochs,
            callbacks=callbacks,
            verbose=verbose,
            validation_data=validation_data,
            initial_epoch=initial_epoch,
            wait_for_data=wait_for_data,
            validation_freq=validation_freq,
            class_weight=class_weight,
            validation_split=validation_split,
            validation_batch_size=validation_batch_size,
        )
        self._check_can_fit(validation_data=validation_data, class_weight=class_weight)
        with self._fit_context(), self.data.showing_progress(verbose):
            self.data.wait_for_rows(wait_for_data)
            _require_validation_rows(validation_data, self.data)
            _require_number_labels(self.data, validation_data)
            progbar = [] if verbose == 0 or _has_progbar(callbacks) else [CountsProgbarLogger()]
            run = TrainingRunCallbacks(
                [self.data, *callbacks, *progbar],
                add_history=True,
                add_progbar=False,
                model=self.model,
                verbose=verbose,
                epochs=epochs,
                steps=None,
            )
            model = self.model
            with contextlib.ExitStack() as serving:
                class_weight = serving.enter_context(self.data.serving(model, class_weight))
                if isinstance(validation_data, GrowingDataCallback):
                    serving.enter_context(validation_data.serving(model, None))
                padded_steps = [
                    step
                    for step, d in (("train_step", self.data), ("test_step", validation_data))
                    if isinstance(d, GrowingDataCallback) and d.pads
                ]
                serving.enter_context(self.data.driven_by_trainer())
                serving.enter_context(_finalize_once(model))
                # Built before `on_train_begin`, as `fit` builds it on JAX and torch (Keras 3.15.1,
                # `backend/jax/trainer.py`): a callback's train begin may rely on a built model, and
                # one may change what a build would trace (TensorBoard's summary writer).
                _build_from_spec(model, self.data, padded=bool(padded_steps))
                if padded_steps or _logs_a_loss_per_output(model):
                    serving.enter_context(metrics_of_real_rows(model, padded_steps))
                repair_torn_backups(callbacks)
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
                            "steps": self.data.epoch_steps(epoch),
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
                        validation_batch_size=validation_batch_size or self.data.batch_size,
                        class_weight=class_weight,
                    )
                    epoch += 1
                    if model.stop_training:
                        break
            run.end_run()
            return run.history

    def _check_can_fit(self, validation_data, class_weight) -> None:
        """Raises for what this trainer cannot do; a subclass's hook (here: it can do all)."""

    @contextlib.contextmanager
    def _fit_context(self):
        """Surrounds a whole `fit`; a subclass's hook (here: nothing to add)."""
        yield


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


def _has_progbar(callbacks: list[keras.callbacks.Callback]) -> bool:
    return any(isinstance(cb, keras.callbacks.ProgbarLogger) for cb in callbacks)


def _check_fit_arguments(model: keras.Model, data: GrowingDataCallback, **args) -> list:
    """Checks `fit`'s arguments before anything waits or trains; returns the callbacks as a list."""
    if not getattr(model, "compiled", False):
        raise ValueError("The model must be compiled before training: call model.compile(optimizer, loss).")
    check_int("epochs", args["epochs"], minimum=0)
    check_int("initial_epoch", args["initial_epoch"], minimum=0)
    check_number("wait_for_data", args["wait_for_data"], minimum=0, infinite=True)
    _check_validation_freq(args["validation_freq"])
    if args["validation_batch_size"] is not None:
        check_int("validation_batch_size", args["validation_batch_size"], minimum=1)
    if args["verbose"] not in ("auto", 0, 1, 2) or isinstance(args["verbose"], bool):
        raise ValueError(f'verbose must be "auto", 0, 1 or 2, got {args["verbose"]!r}.')
    if args["class_weight"] is not None and not isinstance(args["class_weight"], dict):
        raise TypeError(f"class_weight must be a dict or None, got {type(args['class_weight']).__name__}.")
    if args["validation_split"]:
        raise ValueError(
            "validation_split is not supported on a growing folder: the rows it holds out would change "
            "as files arrive. Keep validation files in a folder of their own and pass "
            "validation_data=GrowingDataCallback('validation/', label=...)."
        )
    if args["validation_data"] is data:
        raise ValueError("validation_data is the training data's own callback; watch another folder.")
    callbacks = args["callbacks"]
    if callbacks is None:
        return []
    if isinstance(callbacks, keras.callbacks.Callback) or not isinstance(callbacks, list | tuple):
        raise TypeError(f"callbacks must be a list of keras.callbacks.Callback, got {callbacks!r}.")
    for callback in callbacks:
        if not isinstance(callback, keras.callbacks.Callback):
            raise TypeError(f"callbacks must hold keras.callbacks.Callback objects, got {callback!r}.")
    return list(callbacks)


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


def _check_validation_freq(freq) -> None:
    """`model.fit`'s `validation_freq`: every `freq` epochs, or a list of the (1-based) epochs."""
    if isinstance(freq, list | tuple):
        if not freq:
            raise ValueError("validation_freq must not be an empty list.")
        for epoch in freq:
            check_int("each epoch of validation_freq", epoch, minimum=1)
    else:
        check_int("validation_freq", freq, minimum=1)


def _require_validation_rows(validation_data, data: GrowingDataCallback) -> None:
    """Polls a validation folder; fails when it has no rows yet, or rows unlike the training data's.

    An epoch without validation would have no `val_*` logs, and History's
    lists would no longer line up with the epochs. Its string ids are the
    training data's (`GrowingDataCallback.serve_like`).
    """
    if not isinstance(validation_data, GrowingDataCallback):
        return
    validation_data.poll()
    if validation_data.num_rows == 0:
        raise ValueError(
            f"No validation rows in {validation_data.directory!r}: put a first file there "
            "before training, or pass validation_data=None."
        )
    validation_data.serve_like(data)


def _require_number_labels(data: GrowingDataCallback, validation_data) -> None:
    """Fails before the first epoch when a label was inferred as text, which a loss cannot take."""
    for callback in (data, validation_data):
        if isinstance(callback, GrowingDataCallback):
            problem = text_label_problem(callback.ingest, callback.strings_as)
            if problem:
                raise ValueError(problem)


def _validation_dataset(validation_data):
    if not isinstance(validation_data, GrowingDataCallback):
        return validation_data
    return validation_data.validation_input()


def _logs_a_loss_per_output(model: keras.Model) -> bool:
    """Whether the (built) model logs each output's loss beside `loss`: it has several losses."""
    return model._compile_loss is not None and bool(model._compile_loss.metrics)


def _build_from_spec(model: keras.Model, data: GrowingDataCallback, padded: bool) -> None:
    """Builds what `fit` would build from a batch (model, loss, metrics, optimizer) from the spec.

    On JAX and PyTorch, `fit` builds them from a batch it pulls before
    training (Keras 3.15, `backend/jax/trainer.py` and
    `backend/torch/trainer.py`: `self._symbolic_build(iterator=...)`), which
    draws a shuffle pass: the first epoch would not be the one its seed gives
    (TensorFlow's), and a resumed run would differ from an uninterrupted one.
    `_symbolic_build` takes anything with `shape` and `dtype`, such as the
    dataset's `tf.TensorSpec`s, and does nothing once all is built.
    TensorFlow's `fit` builds inside its first traced step instead (without
    a distribution strategy: `_maybe_symbolic_build`); padded, or with a
    label per output, it is built here too (before `on_train_begin`, unlike
    `fit`), so that `metrics_of_real_rows` finds the compiled loss trackers
    and metrics.
    """
    on_tensorflow = keras.backend.backend() == "tensorflow"
    several_outputs = isinstance(data.label, dict) and len(data.label) > 1
    if on_tensorflow and not (padded or several_outputs):
        return
    spec = data.input_spec()
    with model.distribute_strategy.scope() if on_tensorflow else contextlib.nullcontext():
        model._symbolic_build(data_batch=spec)

"""A callback that ends training once the watched folder stops growing."""

import time
from collections.abc import Callable

import keras

from keras_growing_data.utils.arguments import check_int, check_number


class StopWhenIdle(keras.callbacks.Callback):
    """Stops training once no new rows arrived for a number of epochs or seconds.

    Reads the `rows` log that `GrowingDataCallback` adds to each epoch: an
    epoch is idle when it trained on as many rows as the one before (and,
    with a `Window`, on which rows stay level as files come and go, when no
    file joined either: the `files` and `files_left` logs). With a
    fast model an epoch may take milliseconds, so "five idle epochs" can pass
    while a producer is still writing its next file; `seconds` measures idle
    time instead, from the start of the last epoch that brought new rows (or
    the start of training). Given both, training stops once both hold.

    Example:

    ```python
    trainer.fit(epochs=1000, callbacks=[StopWhenIdle(seconds=60)])
    ```

    Args:
        patience: idle epochs in a row that end training, or `None`.
        seconds: seconds without new rows that end training, or `None`.
        print_fn: where the sentence saying why training stopped goes.
    """

    def __init__(
        self,
        patience: int | None = None,
        seconds: float | None = None,
        print_fn: Callable[[str], None] = print,
    ):
        super().__init__()
        if patience is None and seconds is None:
            raise ValueError("StopWhenIdle needs patience (epochs), seconds, or both.")
        self.patience = None if patience is None else check_int("patience", patience, minimum=1)
        self.seconds = None if seconds is None else check_number("seconds", seconds, minimum=0)
        if not callable(print_fn):
            raise TypeError(f"print_fn must be callable, got {print_fn!r}.")
        self.print_fn = print_fn
        self.stopped_epoch = None

    def on_train_begin(self, logs=None):
        self.rows = None
        self.idle = 0
        self.grew_at = time.monotonic()
        self.stopped_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch_began = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        rows = logs.get("rows")
        if rows is not None:
            rows = (rows, logs.get("files", 0) + logs.get("files_left", 0))
        if rows is not None and rows == self.rows:
            self.idle += 1
        else:
            self.idle = 0
            if self.rows is not None:
                self.grew_at = self.epoch_began
        self.rows = rows
        idle_seconds = time.monotonic() - self.grew_at
        enough_epochs = self.patience is None or self.idle >= self.patience
        enough_time = self.seconds is None or (self.idle and idle_seconds >= self.seconds)
        if enough_epochs and enough_time:
            self.model.stop_training = True
            self.stopped_epoch = epoch
            took = _epochs(self.idle) if self.seconds is None else f"{idle_seconds:.1f} s"
            self.print_fn(f"No new rows for {took}: stopping after epoch {epoch + 1}.")


def _epochs(n: int) -> str:
    return "1 epoch" if n == 1 else f"{n} epochs"

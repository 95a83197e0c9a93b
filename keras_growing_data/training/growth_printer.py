"""A callback that prints a line each time the data grew at an epoch boundary."""

from collections.abc import Callable

import keras

from keras_growing_data.training.callback import GrowingDataCallback


class GrowthPrinter(keras.callbacks.Callback):
    """Prints one line each time the data grew at an epoch boundary.

    Example:

    ```python
    trainer.fit(epochs=10, callbacks=[GrowthPrinter(data)])
    # growth at epoch 2: +1 file, +250 rows -> 500 rows from 2 files
    # growth at epoch 9: +1 file, 1 file left, +0 rows -> 500 rows from 2 files (a `Window`)
    ```

    Args:
        data: the callback watching the training folder.
        print_fn: where the lines go.
    """

    def __init__(self, data: GrowingDataCallback, print_fn: Callable[[str], None] = print):
        super().__init__()
        if not isinstance(data, GrowingDataCallback):
            raise TypeError(f"data must be a GrowingDataCallback, got {type(data).__name__}.")
        if not callable(print_fn):
            raise TypeError(f"print_fn must be callable, got {print_fn!r}.")
        self.data = data
        self.print_fn = print_fn
        self.rows = 0
        self.files = 0
        self.files_left = 0

    def on_train_begin(self, logs=None):
        self.rows = 0
        self.files = 0
        self.files_left = 0

    def on_epoch_begin(self, epoch, logs=None):
        # What the epoch trains on; `num_rows` may already count a file that
        # a background poll took in after the epoch's data was fixed.
        record = self.data.lineage.get(epoch)
        if record is not None:
            rows, files, left = record.rows, len(record.files), record.files_left
        else:
            rows, files, left = self.data.num_rows, len(self.data.in_window), self.data.ingest.files_left
        joined = files + left - self.files - self.files_left
        if rows != self.rows or joined or left != self.files_left:
            gone = f", {count(left - self.files_left, 'file')} left" if left > self.files_left else ""
            self.print_fn(
                f"growth at epoch {epoch + 1}: +{count(joined, 'file')}{gone}, "
                f"{'+' * (rows >= self.rows)}{count(rows - self.rows, 'row')} -> {count(rows, 'row')} "
                f"from {count(files, 'file')}"
            )
        self.rows, self.files, self.files_left = rows, files, left


def count(n: int, noun: str) -> str:
    """`n` and `noun`, plural unless `n` is 1: "1 file", "2 files"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"

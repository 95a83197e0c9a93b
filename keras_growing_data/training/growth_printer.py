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

    def on_train_begin(self, logs=None):
        self.rows = 0
        self.files = 0

    def on_epoch_begin(self, epoch, logs=None):
        # What the epoch trains on; `num_rows` may already count a file that
        # a background poll took in after the epoch's data was fixed.
        record = self.data.lineage.get(epoch)
        if record is not None:
            rows, files = record.rows, len(record.files)
        else:
            rows, files = self.data.num_rows, len(self.data.accepted)
        if rows != self.rows:
            self.print_fn(
                f"growth at epoch {epoch + 1}: +{count(files - self.files, 'file')}, "
                f"+{count(rows - self.rows, 'row')} -> {count(rows, 'row')} from {count(files, 'file')}"
            )
        self.rows, self.files = rows, files


def count(n: int, noun: str) -> str:
    """`n` and `noun`, plural unless `n` is 1: "1 file", "2 files"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"

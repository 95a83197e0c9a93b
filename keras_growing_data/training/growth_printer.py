"""A callback that prints a line each time the data grew at an epoch boundary."""

from collections.abc import Callable

import keras

from keras_growing_data.training.callback import GrowingDataCallback


class GrowthPrinter(keras.callbacks.Callback):
    """Prints one line each time the data grew at an epoch boundary.

    The files and rows a run restored from `state_dir` are not growth: one
    line says what was restored, and growth is counted from there.

    Example:

    ```python
    trainer.fit(epochs=10, callbacks=[GrowthPrinter(data)])
    # restored 9 files, 10090 rows from state/ (a restart)
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
        ingest = self.data.ingest
        self.rows, self.files, self.files_left = ingest.restored or (0, 0, 0)
        if self.files or self.files_left:
            gone = f", {count(self.files_left, 'file')} left" if self.files_left else ""
            self.print_fn(
                f"restored {count(self.files, 'file')}{gone}, {count(self.rows, 'row')} "
                f"from {ingest.manifest.state_dir}"
            )

    def on_epoch_begin(self, epoch, logs=None):
        # What the epoch trains on (its counts, not its paths: a look costs the same at any epoch);
        # `num_rows` may already count a file that a background poll took in after it was fixed.
        ingest = self.data.ingest
        sizes = ingest.lineage.sizes(epoch)
        if sizes is not None:
            rows, files, left = sizes
        else:
            rows, files, left = (
                ingest.num_rows,
                len(ingest.files.paths) - ingest.files_left,
                ingest.files_left,
            )
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

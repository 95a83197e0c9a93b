"""Command line: `keras-growing-data demo | status FOLDER | train FOLDER --label COL`.

- `demo` trains a small model while a producer drops CSV files (no network).
- `status FOLDER` lists the accepted, pending and rejected files of a folder.
- `train FOLDER --label COL` trains a default dense network on a watched
  folder and can save it.

`python -m keras_growing_data ...` and the `keras-growing-data` console
script are the same program. Run any command with `--help` for its options.
"""

import argparse
import contextlib
import logging
import os
import posixpath
import sys
import time
from collections.abc import Callable

import keras
import tensorflow as tf

from keras_growing_data.callback import GrowingDataCallback
from keras_growing_data.default_model import default_model
from keras_growing_data.demo import (
    DEFAULT_PLOT,
    GrowthPrinter,
    run_demo,
    save_plot,
    summary_table,
)
from keras_growing_data.ingest import records_of
from keras_growing_data.manifest import Manifest
from keras_growing_data.trainer import GrowingDatasetTrainer
from keras_growing_data.watcher import FileStat, FolderWatcher

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_ERROR = 2


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the exit status.

    Exit status: 0 on success; 1 when `status` found a rejected file; 2 on
    an error (a missing folder, a folder without usable rows, bad options).

    Args:
        argv: the arguments, without the program name; `sys.argv[1:]` by
            default.
    """
    args = _parser().parse_args(argv)
    try:
        with _warnings_to_stderr():
            return args.run(args)
    except (FileNotFoundError, ValueError) as e:
        print(f"keras-growing-data {args.command}: error: {e}", file=sys.stderr)
        return EXIT_ERROR


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keras-growing-data",
        description="Train Keras models on a folder of CSV files that keeps growing.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="train a small model while a producer drops CSV files (no network)",
        description="Train a small model while a producer drops CSV files into a temporary folder: "
        "scikit-learn's bundled digits when scikit-learn is installed, else synthetic rows. "
        "Prints growth, a summary table, and writes a plot.",
    )
    demo.add_argument("--epochs", type=int, default=12, help="epochs to train (default: 12)")
    demo.add_argument("--out", default=DEFAULT_PLOT, help="path of the PNG plot (default: %(default)s)")
    demo.add_argument("--folder", help="watch this folder instead of running the producer")
    demo.add_argument("--label", help="label column of --folder's files (default: the demo data's)")
    demo.add_argument(
        "--data",
        choices=["auto", "digits", "synthetic"],
        default="auto",
        help="the demo data (default: digits if scikit-learn is installed, else synthetic)",
    )
    demo.set_defaults(run=_run_demo)

    status = commands.add_parser(
        "status",
        help="list the accepted, pending and rejected files of a folder",
        description="Reads a folder as GrowingDataCallback would and lists which files are accepted "
        "(with their rows), pending (not settled yet) and rejected (with the reason). "
        "Exit status 1 when a file is rejected.",
    )
    status.add_argument("folder", help="the watched folder")
    status.add_argument("--label", help="label column (without it, the label is not checked)")
    status.add_argument("--pattern", default="*.csv", help="file name pattern (default: %(default)s)")
    status.add_argument(
        "--settle-seconds", type=float, default=1.0, help="seconds a file must stay unchanged (default: 1)"
    )
    status.add_argument("--state-dir", help="the state folder of the training run, if it has one")
    status.set_defaults(run=_run_status)

    train = commands.add_parser(
        "train",
        help="train a default dense network on a watched folder",
        description="Train a dense network on a watched folder of CSV files: regression or "
        "classification, chosen from the label's values (or --task).",
    )
    train.add_argument("folder", help="the watched folder")
    train.add_argument("--label", required=True, help="the label column")
    train.add_argument("--epochs", type=int, default=20, help="epochs to train at most (default: 20)")
    train.add_argument(
        "--stop-after-idle",
        type=int,
        metavar="K",
        help="stop once K epochs in a row brought no new rows",
    )
    train.add_argument("--save", metavar="PATH", help="save the trained model there (e.g. model.keras)")
    train.add_argument("--plot", metavar="PATH", help="write a PNG plot of loss and rows per epoch there")
    train.add_argument(
        "--task",
        choices=["auto", "regression", "classification"],
        default="auto",
        help="what the model predicts (default: chosen from the label's values)",
    )
    train.add_argument("--validation-folder", help="a folder of validation files, also watched")
    train.add_argument("--batch-size", type=int, default=32, help="rows per batch (default: 32)")
    train.add_argument("--pattern", default="*.csv", help="file name pattern (default: %(default)s)")
    train.add_argument(
        "--settle-seconds", type=float, default=1.0, help="seconds a file must stay unchanged (default: 1)"
    )
    train.add_argument(
        "--wait-for-data", type=float, default=0, help="seconds to wait for the first file (default: 0)"
    )
    train.add_argument("--seed", type=int, help="seed of the shuffles and the initial weights")
    train.add_argument("--verbose", type=int, choices=[0, 1, 2], default=1, help="as in model.fit")
    train.set_defaults(run=_run_train)
    return parser


def _run_demo(args: argparse.Namespace) -> int:
    run_demo(epochs=args.epochs, out=args.out, folder=args.folder, label=args.label, source=args.data)
    return EXIT_OK


def _run_status(args: argparse.Namespace) -> int:
    if not tf.io.gfile.isdir(args.folder):
        raise FileNotFoundError(f"The folder {args.folder!r} does not exist.")
    watcher = FolderWatcher(args.folder, args.pattern, args.settle_seconds)
    if args.state_dir is not None:
        # Read-only: the run owns its state folder and may be writing to it.
        state = Manifest(args.state_dir).load()
        if state is None:
            raise FileNotFoundError(f"No manifest.json in {args.state_dir!r}: no run has saved state there.")
        accepted, rejected = records_of(state)
    else:
        data = GrowingDataCallback(
            args.folder, args.label, pattern=args.pattern, settle_seconds=args.settle_seconds
        )
        library_logger = logging.getLogger("keras_growing_data")
        level = library_logger.level
        library_logger.setLevel(logging.ERROR)  # The report says it all.
        try:
            data.poll()
        finally:
            library_logger.setLevel(level)
        accepted, rejected = data.accepted, data.rejected
    print(status_report(args.folder, accepted, rejected, watcher.candidates()))
    return EXIT_REJECTED if rejected else EXIT_OK


def status_report(folder: str, accepted: dict, rejected: dict, candidates: list[FileStat]) -> str:
    """The accepted, pending and rejected files of a folder, as text.

    A file is pending when it matches the pattern but is neither accepted
    nor rejected yet: it has not stayed unchanged for `settle_seconds`, or
    the run has not polled since it landed.

    Example:

    >>> data = GrowingDataCallback("incoming/", label="price")
    >>> data.poll()
    >>> print(status_report("incoming/", data.accepted, data.rejected, data.watcher.candidates()))
    incoming/: 2 accepted (1500 rows), 1 pending, 1 rejected
    accepted  a.csv  1000 rows
    ...

    Args:
        folder: the watched folder.
        accepted: path -> `AcceptedFile`.
        rejected: path -> `RejectedFile`.
        candidates: the folder's matching files, from `FolderWatcher.candidates()`.
    """
    pending = [s for s in candidates if s.path not in accepted and s.path not in rejected]
    rows = sum(record.rows for record in accepted.values())
    lines = [
        f"{folder}: {len(accepted)} accepted ({rows} rows), {len(pending)} pending, {len(rejected)} rejected"
    ]
    table = []
    for path, record in accepted.items():
        skipped = len(record.skipped)
        note = f"{record.rows} rows" + (f", {skipped} bad rows skipped" if skipped else "")
        table.append(("accepted", _name(path), note))
    for stat in pending:
        modified = time.strftime(", modified %Y-%m-%d %H:%M:%S", time.localtime(stat.mtime_ns / 1e9))
        table.append(("pending", _name(stat.path), f"{stat.size} bytes{modified if stat.mtime_ns else ''}"))
    for path, record in rejected.items():
        moved = f" (moved to {record.moved_to})" if record.moved_to else ""
        table.append(("rejected", _name(path), record.reason + moved))
    if table:
        width = max(len(name) for _, name, _ in table)
        lines += [f"{state:<8}  {name:<{width}}  {note}" for state, name, note in table]
    return "\n".join(lines)


def _name(path: str) -> str:
    return posixpath.basename(path)


def _run_train(args: argparse.Namespace) -> int:
    options = {"pattern": args.pattern, "settle_seconds": args.settle_seconds}
    data = GrowingDataCallback(args.folder, args.label, batch_size=args.batch_size, seed=args.seed, **options)
    validation = None
    if args.validation_folder:
        validation = GrowingDataCallback(args.validation_folder, args.label, args.batch_size, **options)
    print(f"Watching {args.folder} for {args.pattern} files with label column {args.label!r}.")
    data.poll()
    if args.wait_for_data > 0 and data.num_rows == 0:
        print(f"Waiting up to {args.wait_for_data:g} s for the first file in {args.folder}...")
    data.wait_for_rows(args.wait_for_data)
    if args.seed is not None:
        keras.utils.set_random_seed(args.seed)
    model = default_model(data, task=args.task)
    callbacks = [GrowthPrinter(data)]
    if args.stop_after_idle is not None:
        callbacks.append(StopWhenIdle(args.stop_after_idle))
    history = GrowingDatasetTrainer(model, data).fit(
        epochs=args.epochs, callbacks=callbacks, validation_data=validation, verbose=args.verbose
    )
    print(summary_table(history))
    if args.save:
        model.save(args.save)
        print(f"Saved the model to {os.path.abspath(args.save)}")
    if args.plot:
        save_plot(history, args.plot)
    return EXIT_OK


class StopWhenIdle(keras.callbacks.Callback):
    """Stops training once `patience` epochs in a row brought no new rows.

    Reads the `rows` log that `GrowingDataCallback` adds to each epoch: an
    epoch is idle when it trained on as many rows as the one before. The
    first epoch is never idle.

    Example:

    ```python
    trainer.fit(epochs=1000, callbacks=[StopWhenIdle(patience=3)])
    ```

    Args:
        patience: idle epochs in a row that end training.
        print_fn: where the sentence saying why training stopped goes.
    """

    def __init__(self, patience: int, print_fn: Callable[[str], None] = print):
        super().__init__()
        if patience < 1:
            raise ValueError(f"patience must be >= 1, got {patience}.")
        self.patience = patience
        self.print_fn = print_fn
        self.stopped_epoch = None

    def on_train_begin(self, logs=None):
        self.rows = None
        self.idle = 0
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        rows = (logs or {}).get("rows")
        self.idle = self.idle + 1 if rows is not None and rows == self.rows else 0
        self.rows = rows
        if self.idle >= self.patience:
            self.model.stop_training = True
            self.stopped_epoch = epoch
            self.print_fn(f"No new rows for {_epochs(self.idle)}: stopping after epoch {epoch + 1}.")


def _epochs(n: int) -> str:
    return "1 epoch" if n == 1 else f"{n} epochs"


@contextlib.contextmanager
def _warnings_to_stderr():
    """Shows the library's warnings (rejected files) on stderr while a command runs."""
    logger = logging.getLogger("keras_growing_data")
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


if __name__ == "__main__":
    sys.exit(main())

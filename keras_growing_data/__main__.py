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
from typing import TYPE_CHECKING

from keras_growing_data import __version__
from keras_growing_data.no_rows_error import NoRowsError
from keras_growing_data.tensorflow_logs import import_tensorflow_quietly

if TYPE_CHECKING:
    from keras_growing_data.watcher import FileStat

EXIT_OK = 0
EXIT_REJECTED = 1
EXIT_ERROR = 2


def main(argv: list[str] | None = None) -> int:
    """Runs the command line; returns the exit status.

    Exit status: 0 on success; 1 when `status` found a rejected file; 2 on
    an error (a missing folder, a folder without usable rows, bad options).

    Help, `--version` and wrong options answer without importing
    TensorFlow, which takes seconds. TensorFlow's own log lines are hidden
    unless `--verbose` is given or `TF_CPP_MIN_LOG_LEVEL` is set.

    Args:
        argv: the arguments, without the program name; `sys.argv[1:]` by
            default.
    """
    try:
        args = _parser().parse_args(argv)
    except SystemExit as e:  # --help, --version, or a wrong option (argparse printed why).
        return EXIT_OK if e.code in (0, None) else EXIT_ERROR
    try:
        with _library_log_to_stderr(logging.INFO if args.show_logs else logging.WARNING):
            return args.run(args)
    except (FileNotFoundError, ValueError) as e:
        message = e.explain(args.wait_hint) if isinstance(e, NoRowsError) else str(e)
        print(f"keras-growing-data {args.command}: error: {message}", file=sys.stderr)
        return EXIT_ERROR


def _at_least(minimum: float, kind: type = int):
    """An argparse type: a number of `kind` that is at least `minimum`."""

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {'an integer' if kind is int else 'a number'}, got {text!r}"
            ) from None
        if not value >= minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum:g}, got {text}")
        return value

    return parse


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="keras-growing-data",
        description="Train Keras models on a folder of CSV files that keeps growing.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument(
        "--verbose",
        dest="show_logs",
        action="store_true",
        help="also show each accepted file and TensorFlow's own log lines, on stderr "
        "(give it before the command)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="train a small model while a producer drops CSV files (no network)",
        description="Train a small model while a producer drops CSV files into a temporary folder: "
        "scikit-learn's bundled digits when scikit-learn is installed, else synthetic rows. "
        "Prints growth, a summary table, and writes a plot.",
    )
    demo.add_argument("--epochs", type=_at_least(1), default=12, help="epochs to train (default: 12)")
    demo.add_argument(
        "--out", help="path of the PNG plot (default: keras-growing-data-demo.png in the current folder)"
    )
    demo.add_argument("--folder", help="watch this folder instead of running the producer")
    demo.add_argument("--label", help="label column of --folder's files (default: the demo data's)")
    demo.add_argument(
        "--data",
        choices=["auto", "digits", "synthetic"],
        default="auto",
        help="the demo data (default: digits if scikit-learn is installed, else synthetic)",
    )
    demo.set_defaults(run=_run_demo, wait_hint="run the demo again")

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
        "--settle-seconds",
        type=_at_least(0, float),
        default=1.0,
        help="seconds a file must stay unchanged (default: 1)",
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
    train.add_argument(
        "--epochs", type=_at_least(1), default=20, help="epochs to train at most (default: 20)"
    )
    train.add_argument(
        "--stop-after-idle",
        type=_at_least(1),
        metavar="K",
        help="stop once K epochs in a row brought no new rows (counts epochs; with a fast model "
        "they pass in a moment: see --stop-after-idle-seconds)",
    )
    train.add_argument(
        "--stop-after-idle-seconds",
        type=_at_least(0, float),
        metavar="S",
        help="stop once S seconds passed without new rows (counts time; with --stop-after-idle, "
        "both must hold)",
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
    train.add_argument("--batch-size", type=_at_least(1), default=32, help="rows per batch (default: 32)")
    train.add_argument("--pattern", default="*.csv", help="file name pattern (default: %(default)s)")
    train.add_argument(
        "--settle-seconds",
        type=_at_least(0, float),
        default=1.0,
        help="seconds a file must stay unchanged (default: 1)",
    )
    train.add_argument(
        "--wait-for-data",
        type=_at_least(0, float),
        default=0,
        metavar="SECONDS",
        help="seconds to wait for the first file (default: 0)",
    )
    train.add_argument("--seed", type=int, help="seed of the shuffles and the initial weights")
    train.add_argument(
        "--verbose",
        type=int,
        choices=[0, 1, 2],
        default=1,
        help="progress display, as in model.fit (default: 1); for log lines, "
        "keras-growing-data --verbose train ...",
    )
    train.set_defaults(run=_run_train, wait_hint="pass --wait-for-data SECONDS")
    return parser


def _run_demo(args: argparse.Namespace) -> int:
    _import_tensorflow(args)
    from keras_growing_data.demo import DEFAULT_PLOT, run_demo

    out = args.out or DEFAULT_PLOT
    run_demo(epochs=args.epochs, out=out, folder=args.folder, label=args.label, source=args.data)
    return EXIT_OK


def _run_status(args: argparse.Namespace) -> int:
    _check_local_folder(args.folder)
    _import_tensorflow(args)
    from keras_growing_data.callback import GrowingDataCallback
    from keras_growing_data.ingest import records_of
    from keras_growing_data.manifest import Manifest
    from keras_growing_data.watcher import FolderWatcher

    watcher = FolderWatcher(args.folder, args.pattern, args.settle_seconds)
    if not watcher.exists():
        raise FileNotFoundError(f"The folder {args.folder!r} does not exist.")
    if args.state_dir is not None:
        # Read-only: the run owns its state folder and may be writing to it.
        state = Manifest(args.state_dir).load()
        if state is None:
            raise FileNotFoundError(f"No manifest.json in {args.state_dir!r}: no run has saved state there.")
        if state["directory"] != watcher.directory:
            raise ValueError(
                f"{args.state_dir!r} holds the state of a run on {state['directory']!r}, "
                f"not {watcher.directory!r}."
            )
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
    print(status_report(watcher.directory, accepted, rejected, watcher.candidates()))
    return EXIT_REJECTED if rejected else EXIT_OK


def _import_tensorflow(args: argparse.Namespace) -> None:
    """Imports TensorFlow, quietly unless `--verbose` asked for its log lines."""
    if not args.show_logs:
        import_tensorflow_quietly()


def _check_local_folder(folder: str) -> None:
    """Fails before TensorFlow is imported when a local folder is missing."""
    if "://" not in folder and not os.path.isdir(folder):
        raise FileNotFoundError(f"The folder {folder!r} does not exist.")


def status_report(folder: str, accepted: dict, rejected: dict, candidates: "list[FileStat]") -> str:
    """The accepted, pending and rejected files of a folder, as text.

    A file is pending when it matches the pattern but is neither accepted
    nor rejected yet: it has not stayed unchanged for `settle_seconds`, or
    the run has not polled since it landed.

    Example:

    >>> data = GrowingDataCallback("incoming/", label="price")
    >>> data.poll()
    >>> print(status_report(data.directory, data.accepted, data.rejected, data.watcher.candidates()))
    /data/incoming: 2 accepted (1500 rows), 1 pending, 1 rejected
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
    _check_local_folder(args.folder)
    if args.validation_folder:
        _check_local_folder(args.validation_folder)
    _import_tensorflow(args)
    import keras

    from keras_growing_data.callback import GrowingDataCallback
    from keras_growing_data.default_model import default_model
    from keras_growing_data.demo import GrowthPrinter, save_plot, summary_table
    from keras_growing_data.stop_when_idle import StopWhenIdle
    from keras_growing_data.trainer import GrowingDatasetTrainer

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
    if args.stop_after_idle is not None or args.stop_after_idle_seconds is not None:
        callbacks.append(StopWhenIdle(args.stop_after_idle, args.stop_after_idle_seconds))
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


@contextlib.contextmanager
def _library_log_to_stderr(level: int):
    """Shows the library's log at `level` and above (rejected files: warnings) on stderr."""
    logger = logging.getLogger("keras_growing_data")
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logger.addHandler(handler)
    old_level = logger.level
    if level < logging.WARNING:
        logger.setLevel(level)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


if __name__ == "__main__":
    sys.exit(main())

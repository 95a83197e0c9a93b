"""The command line's options and dispatch: `keras-growing-data demo | status | train`.

- `demo` trains a small model while a producer drops CSV files (no network).
- `status FOLDER` lists the accepted, pending and rejected files of a folder.
- `train FOLDER --label COL` trains a default dense network on a watched
  folder and can save it.

`python -m keras_growing_data ...` and the `keras-growing-data` console
script are the same program. Run any command with `--help` for its options.
"""

import argparse
import importlib
import logging
import os
import sys

from keras_growing_data import __version__
from keras_growing_data.cli.argument_types import LABEL, at_least
from keras_growing_data.cli.exit_codes import EXIT_ERROR, EXIT_OK
from keras_growing_data.cli.reading_options import add_reading_options
from keras_growing_data.errors import NoRowsError
from keras_growing_data.utils.tensorflow_logs import import_tensorflow_quietly


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
    if args.command == "train" and args.label is None and "label" not in (args.config or {}):
        print(
            "keras-growing-data train: error: the following arguments are required: --label "
            "(or a label in the --config file)",
            file=sys.stderr,
        )
        return EXIT_ERROR
    try:
        for folder in _folders_that_must_exist(args):
            _check_local_folder(folder)
        if not args.show_logs:
            import_tensorflow_quietly()
        # These modules import TensorFlow: only now that the options are known good.
        from keras_growing_data.cli.file_names import library_log_to_stderr

        command = importlib.import_module(f"keras_growing_data.cli.{args.command}")
        with library_log_to_stderr(logging.INFO if args.show_logs else logging.WARNING, args.folder):
            return command.run(args)
    # The library's checks raise TypeError for an argument of the wrong type: here, a config file's value.
    except (FileNotFoundError, TypeError, ValueError) as e:
        message = e.explain(args.wait_hint) if isinstance(e, NoRowsError) else str(e)
        print(f"keras-growing-data {args.command}: error: {message}", file=sys.stderr)
        return EXIT_ERROR


def _folders_that_must_exist(args: argparse.Namespace) -> list[str]:
    """The folders a command needs at once; a command that waits for its data may see them appear."""
    if args.command == "status" or args.command == "train" and not args.wait_for_data:
        return [folder for folder in (args.folder, getattr(args, "validation_folder", None)) if folder]
    return []


def _check_local_folder(folder: str) -> None:
    """Fails before TensorFlow is imported when a local folder is missing."""
    if "://" not in folder and not os.path.isdir(folder):
        raise FileNotFoundError(f"The folder {folder!r} does not exist.")


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
    demo.add_argument("--epochs", type=at_least(1), default=12, help="epochs to train (default: 12)")
    demo.add_argument(
        "--out", help="path of the PNG plot (default: keras-growing-data-demo.png in the current folder)"
    )
    demo.add_argument("--folder", help="watch this folder instead of running the producer")
    demo.add_argument(
        "--label", type=LABEL, help="label column of --folder's files (default: the demo data's)"
    )
    demo.add_argument(
        "--data",
        choices=["auto", "digits", "synthetic"],
        default="auto",
        help="the demo data (default: digits if scikit-learn is installed, else synthetic)",
    )
    demo.set_defaults(wait_hint="run the demo again")

    status = commands.add_parser(
        "status",
        help="list the accepted, pending and rejected files of a folder",
        description="Reads a folder as GrowingDataCallback would and lists which files are accepted "
        "(with their rows), pending (not settled yet) and rejected (with the reason). "
        "Exit status 1 when a file is rejected.",
    )
    status.add_argument("folder", help="the watched folder")
    add_reading_options(status, label_help="label column (without it, the label is not checked)")
    status.add_argument("--state-dir", help="the state folder of the training run, if it has one")

    train = commands.add_parser(
        "train",
        help="train a default dense network on a watched folder",
        description="Train a dense network on a watched folder of CSV files: regression or "
        "classification, chosen from the label's values (or --task).",
    )
    train.add_argument("folder", help="the watched folder")
    train.add_argument("--epochs", type=at_least(1), default=20, help="epochs to train at most (default: 20)")
    train.add_argument(
        "--stop-after-idle",
        type=at_least(1),
        metavar="K",
        help="stop once K epochs in a row brought no new rows (counts epochs; with a fast model "
        "they pass in a moment: see --stop-after-idle-seconds)",
    )
    train.add_argument(
        "--stop-after-idle-seconds",
        type=at_least(0, float),
        metavar="S",
        help="stop once S seconds passed without new rows (counts time; with --stop-after-idle, "
        "both must hold)",
    )
    train.add_argument(
        "--save",
        metavar="PATH",
        help="save the trained model there (e.g. model.keras), to predict on raw values",
    )
    train.add_argument("--plot", metavar="PATH", help="write a PNG plot of loss and rows per epoch there")
    train.add_argument(
        "--task",
        choices=["auto", "regression", "classification"],
        default="auto",
        help="what the model predicts (default: chosen from the label's values)",
    )
    train.add_argument("--validation-folder", help="a folder of validation files, also watched")
    train.add_argument("--batch-size", type=at_least(1), help="rows per batch (default: 32)")
    add_reading_options(train, label_help="the label column (required here or in --config)")
    train.add_argument(
        "--wait-for-data",
        type=at_least(0, float),
        default=0,
        metavar="SECONDS",
        help="seconds to wait for the first file (default: 0)",
    )
    train.add_argument("--seed", type=at_least(0), help="seed of the shuffles and the initial weights")
    train.add_argument(
        "--verbose",
        type=int,
        choices=[0, 1, 2],
        default=1,
        help="progress display, as in model.fit (default: 1); for log lines, "
        "keras-growing-data --verbose train ...",
    )
    train.set_defaults(wait_hint="pass --wait-for-data SECONDS")
    return parser

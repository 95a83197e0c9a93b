"""The command line's options and dispatch: `keras-growing-data demo | status | train`.

- `demo` trains a small model while a producer drops CSV files (no network).
- `status FOLDER` lists the accepted, pending and rejected files of a folder.
- `train FOLDER --label COL` trains a default dense network on a watched
  folder and can save it.

`python -m keras_growing_data ...` and the `keras-growing-data` console
script are the same program. Run any command with `--help` for its options.
"""

import argparse
import contextlib
import importlib
import logging
import os
import sys

from keras_growing_data import __version__
from keras_growing_data.cli.exit_codes import EXIT_ERROR, EXIT_OK
from keras_growing_data.errors import NoRowsError
from keras_growing_data.utils.arguments import check_labels, check_text
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
    try:
        for folder in _folders_that_must_exist(args):
            _check_local_folder(folder)
        if not args.show_logs:
            import_tensorflow_quietly()
        # The command's module imports TensorFlow: only now that the options are known good.
        command = importlib.import_module(f"keras_growing_data.cli.{args.command}")
        with _library_log_to_stderr(logging.INFO if args.show_logs else logging.WARNING):
            return command.run(args)
    except (FileNotFoundError, ValueError) as e:
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


def _checked(check):
    """An argparse type from one of `utils.arguments`' checks of a text option."""

    def parse(text: str):
        try:
            return check(text)
        except (TypeError, ValueError) as e:
            raise argparse.ArgumentTypeError(str(e).rstrip(".")) from None

    return parse


_LABEL = _checked(lambda text: check_labels(text)[0])
_PATTERN = _checked(lambda text: check_text("pattern", text))


def _add_file_options(command: argparse.ArgumentParser) -> None:
    """The options that say which files of a folder count: pattern, sub-folders and settle time."""
    command.add_argument(
        "--pattern",
        type=_PATTERN,
        action="append",
        help="file name pattern, repeatable (default: *.csv *.csv.gz *.csv.bz2 *.csv.xz)",
    )
    command.add_argument("--recursive", action="store_true", help="watch the sub-folders too")
    command.add_argument(
        "--partition-columns",
        action="store_true",
        help="give each file the columns of its key=value folders (dt=2026-12-01/)",
    )
    command.add_argument(
        "--settle-seconds",
        type=_at_least(0, float),
        default=1.0,
        help="seconds a file must stay unchanged (default: 1)",
    )


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
    demo.add_argument(
        "--label", type=_LABEL, help="label column of --folder's files (default: the demo data's)"
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
    status.add_argument("--label", type=_LABEL, help="label column (without it, the label is not checked)")
    _add_file_options(status)
    status.add_argument("--state-dir", help="the state folder of the training run, if it has one")

    train = commands.add_parser(
        "train",
        help="train a default dense network on a watched folder",
        description="Train a dense network on a watched folder of CSV files: regression or "
        "classification, chosen from the label's values (or --task).",
    )
    train.add_argument("folder", help="the watched folder")
    train.add_argument("--label", type=_LABEL, required=True, help="the label column")
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
    train.add_argument("--batch-size", type=_at_least(1), default=32, help="rows per batch (default: 32)")
    _add_file_options(train)
    train.add_argument(
        "--wait-for-data",
        type=_at_least(0, float),
        default=0,
        metavar="SECONDS",
        help="seconds to wait for the first file (default: 0)",
    )
    train.add_argument(
        "--appends",
        choices=["warn", "tail"],
        default="warn",
        help="lines appended to an accepted file: warn and ignore them (default), or tail: each "
        "complete new line joins at the next epoch",
    )
    train.add_argument(
        "--window-files", type=_at_least(1), metavar="N", help="train on the newest N files only"
    )
    train.add_argument(
        "--window-rows", type=_at_least(1), metavar="N", help="train on the newest files that hold N rows"
    )
    train.add_argument(
        "--window-seconds",
        type=_at_least(0, float),
        metavar="S",
        help="train on the files modified at most S seconds before the newest one",
    )
    train.add_argument("--seed", type=_at_least(0), help="seed of the shuffles and the initial weights")
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

"""The options that decide how `status` and `train` read a folder: one set, so they judge files alike.

Each is an argument of `GrowingDataCallback`: given in a `--config` file
(JSON or TOML, its keys the callback's keyword arguments), or as an option,
which wins over the file. `status` and `train` take the same ones, and
both hand them to `GrowingDataCallback`, whose poll judges every file: so
`status` accepts and rejects, with the same reasons, what a training run
with the same options does.
"""

import argparse

from keras_growing_data.cli.argument_types import LABEL, PATTERN, at_least, checked
from keras_growing_data.cli.config_file import read_config
from keras_growing_data.sources.window import Window

# The options that are arguments of `GrowingDataCallback` under the same name. Their argparse default
# is None, "not given", so that the config file's value or the callback's default holds.
_CALLBACK_OPTIONS = (
    "label",
    "pattern",
    "recursive",
    "partition_columns",
    "settle_seconds",
    "on_bad_row",
    "appends",
    "batch_size",
    "seed",
)

# What `status` leaves out of a run's options: it writes no state or rows and moves no file, and none
# of these changes a verdict. A run's `state_dir` is read instead (see `cli/status.py`).
NOT_FOR_STATUS = ("state_dir", "storage", "storage_dir", "on_bad_file", "poll_interval")


def add_reading_options(command: argparse.ArgumentParser, label_help: str) -> None:
    """Adds the options that say which files of a folder count and how they are read."""
    command.add_argument(
        "--config",
        type=checked(read_config),
        metavar="FILE",
        help="a .json or .toml file of GrowingDataCallback's keyword arguments (columns, defaults, "
        "na_values, on_bad_row, ...); the options below win over it",
    )
    command.add_argument("--label", type=LABEL, help=label_help)
    command.add_argument(
        "--pattern",
        type=PATTERN,
        action="append",
        help=(
            "file name pattern, repeatable "
            "(default: *.csv *.jsonl *.ndjson, each plain or .gz .bz2 .xz, and *.parquet)"
        ),
    )
    command.add_argument("--recursive", action="store_true", default=None, help="watch the sub-folders too")
    command.add_argument(
        "--partition-columns",
        action="store_true",
        default=None,
        help="give each file the columns of its key=value folders (dt=2026-12-01/)",
    )
    command.add_argument(
        "--settle-seconds",
        type=at_least(0, float),
        help="seconds a file must stay unchanged (default: 1)",
    )
    command.add_argument(
        "--on-bad-row",
        choices=["reject", "skip"],
        help="a line with a missing or wrong value rejects its file (default), or is skipped",
    )
    command.add_argument(
        "--appends",
        choices=["warn", "tail"],
        help="lines appended to an accepted file: warn and ignore them (default), or tail: each "
        "complete new line joins at the next epoch",
    )
    command.add_argument(
        "--window-files", type=at_least(1), metavar="N", help="train on the newest N files only"
    )
    command.add_argument(
        "--window-rows", type=at_least(1), metavar="N", help="train on the newest files that hold N rows"
    )
    command.add_argument(
        "--window-seconds",
        type=at_least(0, float),
        metavar="S",
        help="train on the files modified at most S seconds before the newest one",
    )


def callback_options(args: argparse.Namespace) -> dict[str, object]:
    """The keyword arguments of `GrowingDataCallback` the command was given, but the folder.

    The config file's, overridden by the options given. `label` is always
    there (`None` when neither gives it).
    """
    options = dict(args.config or {})
    for name in _CALLBACK_OPTIONS:
        value = getattr(args, name, None)
        if value is not None:
            options[name] = value
    bounds = {"rows": args.window_rows, "files": args.window_files, "seconds": args.window_seconds}
    if any(bound is not None for bound in bounds.values()):
        options["window"] = Window(**bounds)
    options.setdefault("label", None)
    return options

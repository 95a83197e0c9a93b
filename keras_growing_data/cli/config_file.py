"""`--config FILE`: keyword arguments of `GrowingDataCallback`, read from a JSON or TOML file.

The keys are the callback's own, so the file that `status` and `train`
read is the one a script passes on: `GrowingDataCallback(folder,
**json.load(f))`. Neither TensorFlow nor numpy is imported here, so that
a typo in a key is answered at once.
"""

import difflib
import json
import os
import sys

# The keyword arguments of `GrowingDataCallback` a file can hold (tests/test_cli.py keeps them in step
# with its signature). `directory` is the command's FOLDER; `window` takes a `Window` object, which
# neither JSON nor TOML holds: the `--window-*` options give it.
CONFIG_KEYS = (
    "label",
    "batch_size",
    "pattern",
    "shuffle",
    "seed",
    "settle_seconds",
    "max_line_bytes",
    "poll_interval",
    "on_bad_file",
    "on_bad_row",
    "state_dir",
    "follow_symlinks",
    "storage",
    "storage_dir",
    "parser",
    "columns",
    "defaults",
    "na_values",
    "features",
    "strings_as",
    "pad_last_batch",
    "recursive",
    "partition_columns",
    "appends",
    "max_file_bytes",
    "commit_marker",
)

_NOT_IN_A_FILE = {
    "directory": "the folder is the command's FOLDER argument",
    "window": "a config file cannot hold a Window: use --window-files, --window-rows or --window-seconds",
}


def read_config(path: str) -> dict[str, object]:
    """The keyword arguments of `GrowingDataCallback` that the JSON or TOML file `path` holds.

    Only the keys are checked here; the values are checked by the
    callback, as in Python.

    Example:

    ```python
    # run.toml holds: label = "murder", on_bad_row = "skip", and a [defaults] table.
    data = GrowingDataCallback("crime/", **read_config("run.toml"))
    ```

    Args:
        path: a file whose name ends in `.json` or `.toml`, holding one
            object (JSON) or table (TOML) of keyword arguments.

    Raises:
        ValueError: the file cannot be read, is not valid JSON or TOML, or
            holds a key that is not a keyword argument of the callback
            (the message names the valid keys).
    """
    kind = os.path.splitext(path)[1].lower()
    if kind not in (".json", ".toml"):
        raise ValueError(f"{path!r} must be a .json or a .toml file")
    if kind == ".toml" and sys.version_info < (3, 11):
        raise ValueError(f"{path!r}: reading TOML needs Python 3.11 or later (tomllib); write it as JSON")
    try:
        config = _load(path, kind)
    except OSError as e:
        raise ValueError(f"cannot read {path!r}: {e.strerror or e}") from None
    except ValueError as e:  # JSONDecodeError, TOMLDecodeError, UnicodeDecodeError
        raise ValueError(f"{path!r} is not valid {kind[1:].upper()}: {e}") from None
    if not isinstance(config, dict):
        raise ValueError(
            f"{path!r} must hold an object of GrowingDataCallback's keyword arguments, "
            f"not a {type(config).__name__}"
        )
    for key in config:
        if key in _NOT_IN_A_FILE:
            raise ValueError(f"{path!r} has the key {key!r}: {_NOT_IN_A_FILE[key]}")
        if key not in CONFIG_KEYS:
            close = difflib.get_close_matches(key, CONFIG_KEYS, n=1)
            guess = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"{path!r} has an unknown key {key!r}{guess}; the keys are GrowingDataCallback's "
                f"keyword arguments: {', '.join(CONFIG_KEYS)}"
            )
    return config


def _load(path: str, kind: str) -> object:
    with open(path, "rb") as f:
        if kind == ".json":
            return json.load(f)
        import tomllib  # Python 3.11 and later, which `read_config` checked.

        return tomllib.load(f)

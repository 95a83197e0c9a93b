"""Checks of public arguments, so that a wrong one fails where it is given.

Each check returns the value (normalised where that is harmless, such as a
path-like object to `str`) or raises: `TypeError` for a value of the wrong
type, `ValueError` for one of the right type outside what is allowed. The
message names the argument, what it allows and what it got.
"""

import collections
import math
import numbers
import os
from collections.abc import Iterable, Mapping, Sequence


def _got(value) -> str:
    return f"got {value!r} ({type(value).__name__})"


def check_int(name: str, value, minimum: int | None = None) -> int:
    """An integer (not a bool), at least `minimum`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, {_got(value)}.")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}.")
    return int(value)


def check_number(
    name: str,
    value,
    minimum: float | None = None,
    positive: bool = False,
    infinite: bool = False,
) -> float:
    """A real number (not a bool): at least `minimum`, above 0 with `positive`, finite unless `infinite`."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, {_got(value)}.")
    value = float(value)
    if value != value:
        raise ValueError(f"{name} must be a number, got nan.")
    if math.isinf(value) and not infinite:
        raise ValueError(f"{name} must be finite, got {value}.")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value:g}.")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum:g}, got {value:g}.")
    return value


def check_bool(name: str, value) -> bool:
    """`True` or `False` (numpy booleans too)."""
    import numpy as np  # Here, so that the command line checks its options without numpy.

    if not isinstance(value, bool | np.bool_):
        raise TypeError(f"{name} must be True or False, {_got(value)}.")
    return bool(value)


def check_choice(name: str, value, choices: Sequence[str]) -> str:
    """One of the strings `choices`."""
    if value not in choices or not isinstance(value, str):
        allowed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}.")
    return value


def check_text(name: str, value) -> str:
    """A non-empty string."""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a string, {_got(value)}.")
    if not value:
        raise ValueError(f"{name} must not be empty.")
    return value


def check_path(name: str, value, optional: bool = False) -> str | None:
    """A folder or file path (`str` or `os.PathLike`), or a URL; `None` if `optional`."""
    if value is None and optional:
        return None
    if not isinstance(value, str | os.PathLike):
        allowed = "a path (str or os.PathLike)" + (" or None" if optional else "")
        raise TypeError(f"{name} must be {allowed}, {_got(value)}.")
    path = os.fspath(value)
    if isinstance(path, bytes):
        raise TypeError(f"{name} must be a str path, not bytes: {path!r}.")
    if not path:
        raise ValueError(f"{name} must not be empty.")
    return path


def check_labels(value) -> list[str]:
    """The `label` argument as the list of label columns it names, in order.

    `label` is a column name, a list of names, a dict of output name -> a
    name or a list of names, or `None`.
    """
    allowed = (
        "label must be a column name (str), a list of column names, a dict of output name -> "
        "column name(s), or None"
    )
    if value is None:
        return []
    if isinstance(value, Mapping):
        if not value:
            raise ValueError(f"{allowed}, got an empty dict.")
        names = []
        for output, target in value.items():
            if not isinstance(output, str) or not output:
                raise TypeError(f"{allowed}; the output name {output!r} is not a non-empty str.")
            if isinstance(target, Mapping):
                raise TypeError(f"{allowed}; the columns of output {output!r} are a dict: {target!r}.")
            names += _label_names(target, f"{allowed}; output {output!r}:")
    else:
        names = _label_names(value, f"{allowed};")
    repeated = sorted(name for name, count in collections.Counter(names).items() if count > 1)
    if repeated:
        raise ValueError(f"label names a column more than once: {repeated}.")
    return names


def _label_names(value, allowed: str) -> list[str]:
    """The names of a label given as one name or a list of them."""
    if isinstance(value, str):
        names = [value]
    elif isinstance(value, Iterable) and not isinstance(value, bytes | Mapping):
        names = list(value)  # A list, a tuple, a numpy array or a pandas Index of names.
        if not names:
            raise ValueError(f"{allowed} got an empty {type(value).__name__}.")
    else:
        raise TypeError(f"{allowed} {_got(value)}.")
    for name in names:
        if not isinstance(name, str):  # numpy's str_ is a str.
            raise TypeError(f"{allowed} {_got(value)}: {name!r} is not a str.")
        if not name.strip():
            raise ValueError(f"{allowed} got an empty name in {value!r}.")
        if name != name.strip():
            raise ValueError(
                f"label {name!r} has spaces around it; header names are read without them: {name.strip()!r}."
            )
    return names

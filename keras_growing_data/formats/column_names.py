"""A file's column names in reasons: a short list, the one a missing name was meant to be, labels lacking."""

import difflib
from collections.abc import Sequence

from keras_growing_data.errors import BadFileError
from keras_growing_data.utils.printable import excerpt

# How many items of a kind a reason lists before "and N more".
LISTED = 5
# How many of its names, and at most how many characters of them, a reason lists when it shows a header.
LISTED_COLUMNS = 8
LISTED_CHARS = 100
# How many of a header's names are compared with a missing one, for "did you mean".
SUGGESTED_FROM = 1000


def require_labels(columns: Sequence[str], labels: Sequence[str]) -> None:
    """Checks that a header has every label column, before anything costlier is done with the file.

    Raises:
        BadFileError: a label is missing (the reason names the closest column it has).
    """
    present = set(columns)
    missing = [name for name in labels if name not in present]
    if missing:
        label_names = set(labels)
        features = [name for name in columns if name not in label_names]
        raise BadFileError(
            f"the header has no label column {listed_names(missing)}{suggestions(missing, features)}; "
            f"it has {header_names(columns)}"
        )


def suggestions(missing: Sequence[str], names: Sequence[str]) -> str:
    """' (did you mean ...?)' naming the closest of `names` to each missing one."""
    close = {name: closest_name(name, names) for name in missing}
    found = {name: match for name, match in close.items() if match is not None}
    if not found:
        return ""
    if len(missing) == 1:
        return f" (did you mean {excerpt(found[missing[0]])}?)"
    return (
        " (did you mean "
        + ", ".join(f"{excerpt(match)} for {excerpt(name)}" for name, match in found.items())
        + "?)"
    )


def closest_name(name: str, names: Sequence[str]) -> str | None:
    """The one of `names` that `name` was most likely meant to be, or `None`.

    The same name in another case comes first, then `difflib`'s closest
    among the first `SUGGESTED_FROM` names.
    """
    folded = name.casefold()
    for candidate in names:
        if candidate.casefold() == folded:
            return candidate
    # difflib costs ~10 us a candidate: over a header of 100,000 names, a second per file.
    close = difflib.get_close_matches(name, names[:SUGGESTED_FROM], n=1)
    return close[0] if close else None


def header_names(columns: Sequence[str]) -> str:
    """A header's names for a reason or a log: its first few, as excerpts, and its width if it has more."""
    shown, chars = [], 0
    for name in columns[:LISTED_COLUMNS]:
        if chars >= LISTED_CHARS:
            break
        shown.append(name)
        chars += len(excerpt(name))
    width = "" if len(shown) == len(columns) else f" ... ({len(columns)} columns)"
    return listed_names(shown) + width


def listed_names(names: Sequence[str]) -> str:
    """Names for a reason, as a list of excerpts."""
    return "[" + ", ".join(excerpt(name) for name in names) + "]"


def listed_items(items: Sequence[str]) -> str:
    """The first `LISTED` items, then how many more."""
    return ", ".join(items[:LISTED]) + and_more(items)


def and_more(items: Sequence) -> str:
    """' and N more' for the items past the first `LISTED`, or ''."""
    return f" and {len(items) - LISTED} more" if len(items) > LISTED else ""

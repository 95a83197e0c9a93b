"""The rules a CSV header must follow, and reasons that name what breaks them."""

import collections
import csv
import difflib
import re
from collections.abc import Sequence

from keras_growing_data.sources.records import BadFileError

UTF8_BOM = b"\xef\xbb\xbf"

# What each kind of compressed file starts with. bzip2's magic number is
# ASCII, so its first block's (or an empty stream's) marker must follow, lest
# a header that happens to start with "BZh" be taken for it.
COMPRESSION_MAGIC = {
    "gzip": re.compile(rb"\x1f\x8b"),
    "bzip2": re.compile(rb"BZh[1-9](1AY&SY|\x17rE8P\x90)"),
    "xz": re.compile(rb"\xfd7zXZ\x00"),
    "zstd": re.compile(rb"\x28\xb5\x2f\xfd"),
    "zip": re.compile(rb"PK\x03\x04"),
}

# How many items of a kind a reason lists before "and N more".
LISTED = 5
# How many of its names a reason lists when it shows a header.
LISTED_COLUMNS = 8


def parse_header(raw: bytes, labels: Sequence[str], expected: Sequence[str] | None) -> list[str]:
    """The column names of a header line, checked against the labels and the schema.

    Raises:
        BadFileError: the header is not UTF-8 or not CSV, has empty or
            repeated names, lacks a label, has no feature column, or
            differs from `expected` (the reason names what differs).
    """
    raw = raw.removeprefix(UTF8_BOM).rstrip(b"\r")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadFileError("line 1 (the header) is not valid UTF-8") from None
    try:
        columns = [name.strip() for name in next(csv.reader([text], skipinitialspace=True), [])]
    except csv.Error as e:
        raise BadFileError(f"line 1 (the header) is not CSV: {e}") from None
    if not columns:
        raise BadFileError("line 1 (the header) is blank")
    empty = [str(i + 1) for i, name in enumerate(columns) if not name]
    if len(empty) == 1:
        raise BadFileError(f"line 1 (the header) has an empty column name (column {empty[0]})")
    if empty:
        raise BadFileError(f"line 1 (the header) has empty column names (columns {_listed(empty)})")
    duplicates = [name for name, count in collections.Counter(columns).items() if count > 1]
    if duplicates:
        raise BadFileError(f"the header repeats column names {duplicates[:LISTED]}{_and_more(duplicates)}")
    missing = [name for name in labels if name not in columns]
    if missing:
        features = [name for name in columns if name not in labels]
        raise BadFileError(
            f"the header has no label column {missing}{_suggestions(missing, features)}; "
            f"it has {_header_names(columns)}"
        )
    if len(columns) == len(labels):
        raise BadFileError("the header has no feature column besides the labels")
    if expected is not None and tuple(columns) != tuple(expected):
        raise BadFileError(
            "the header differs from the schema set by the first accepted file: "
            + header_difference(expected, columns)
        )
    return columns


def compression_of(head: bytes) -> str | None:
    """The compression format a file's first bytes show, or `None` for none."""
    for name, magic in COMPRESSION_MAGIC.items():
        if magic.match(head):
            return name
    return None


def header_difference(expected: Sequence[str], found: Sequence[str]) -> str:
    """What sets the header `found` apart from `expected`, by 1-based column number.

    A column number that holds, in the schema, a name the file lacks and, in
    the file, a name the schema lacks is a renamed column; other names in only
    one of them are missing or extra. Names in both but in another order are
    named as moved. At most `LISTED` items of each kind are named, however
    wide the headers.

    Example:

    >>> header_difference(["a", "b", "price", "x"], ["b", "a", "Price"])
    "column 3 is 'Price' where the schema has 'price'; missing 'x' (schema column 4); 'b' is column 1
    (the schema has it at 2), 'a' is column 2 (the schema has it at 1)"
    """
    schema_at = {name: i for i, name in enumerate(expected)}
    file_at = {name: i for i, name in enumerate(found)}
    shared = range(min(len(expected), len(found)))
    renamed = [i for i in shared if found[i] not in schema_at and expected[i] not in file_at]
    paired = set(renamed)
    missing = [i for i, name in enumerate(expected) if name not in file_at and i not in paired]
    extra = [i for i, name in enumerate(found) if name not in schema_at and i not in paired]
    # Names in both headers whose order differs; a column missing or added
    # shifts those after it, but does not reorder them.
    in_schema_order = [name for name in expected if name in file_at]
    in_file_order = [name for name in found if name in schema_at]
    moved = [file_at[b] for a, b in zip(in_schema_order, in_file_order, strict=True) if a != b]
    renames = [f"column {i + 1} is {found[i]!r} where the schema has {expected[i]!r}" for i in renamed]
    lacks = [f"{expected[i]!r} (schema column {i + 1})" for i in missing]
    adds = [f"{found[i]!r} (column {i + 1})" for i in extra]
    moves = [
        f"{found[i]!r} is column {i + 1} (the schema has it at {schema_at[found[i]] + 1})" for i in moved
    ]
    parts = [
        _listed(renames, what=" renamed"),
        _listed(lacks, lead="missing "),
        _listed(adds, lead="extra "),
        _listed(moves, what=" moved"),
    ]
    return "; ".join(part for part in parts if part)


def _suggestions(missing: Sequence[str], names: Sequence[str]) -> str:
    """' (did you mean ...?)' naming the closest of `names` to each missing one."""
    close = {name: closest_name(name, names) for name in missing}
    found = {name: match for name, match in close.items() if match is not None}
    if not found:
        return ""
    if len(missing) == 1:
        return f" (did you mean {found[missing[0]]!r}?)"
    return " (did you mean " + ", ".join(f"{match!r} for {name!r}" for name, match in found.items()) + "?)"


def closest_name(name: str, names: Sequence[str]) -> str | None:
    """The one of `names` that `name` was most likely meant to be, or `None`.

    The same name in another case comes first, then `difflib`'s closest.
    """
    folded = name.casefold()
    for candidate in names:
        if candidate.casefold() == folded:
            return candidate
    close = difflib.get_close_matches(name, names, n=1)
    return close[0] if close else None


def _header_names(columns: Sequence[str]) -> str:
    """A header's names for a reason: its first few, and its width if wide."""
    if len(columns) <= LISTED_COLUMNS:
        return str(list(columns))
    return f"{list(columns[:LISTED_COLUMNS])} ... ({len(columns)} columns)"


def _listed(items: Sequence[str], lead: str = "", what: str = "") -> str:
    """`lead`, the first `LISTED` items, then how many more `what`; '' for none."""
    if not items:
        return ""
    return lead + ", ".join(items[:LISTED]) + _and_more(items, what)


def _and_more(items: Sequence, what: str = "") -> str:
    """' and N more' for the items past the first `LISTED`, or ''."""
    return f" and {len(items) - LISTED} more{what}" if len(items) > LISTED else ""

"""The rules a CSV header must follow, and reasons that name what breaks them."""

import collections
import csv
import difflib
import re
from collections.abc import Mapping, Sequence

from keras_growing_data.formats.csv.line_checks import value_problem
from keras_growing_data.formats.csv.tf_parser import NO_DEFAULT, ChunkPlan
from keras_growing_data.formats.schema import Schema, default_problem
from keras_growing_data.sources.records import BadFileError, excerpt

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
# How many of a file's first bytes the longest magic number above (bzip2's, with its marker) spans.
MAGIC_BYTES = 10

# How many items of a kind a reason lists before "and N more".
LISTED = 5
# How many of its names, and at most how many characters of them, a reason lists when it shows a header.
LISTED_COLUMNS = 8
LISTED_CHARS = 100
# How many of a header's names are compared with a missing one, for "did you mean".
SUGGESTED_FROM = 1000


def parse_header(raw: bytes) -> list[str]:
    """The column names of a header line, trimmed of surrounding spaces.

    Raises:
        BadFileError: the header is not UTF-8 or not CSV, or has empty or
            repeated names.
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
        raise BadFileError(
            f"the header repeats column names {_names(duplicates[:LISTED])}{_and_more(duplicates)}"
        )
    return columns


def match_header(
    columns: Sequence[str], schema: Schema, defaults: Mapping[str, object], na_values: frozenset[str]
) -> tuple[ChunkPlan, tuple[str, ...]]:
    """How a file's columns, matched by name, fill the schema; and its columns the schema ignores.

    Raises:
        BadFileError: the file lacks a label, every feature column, or a
            schema column that has no default (the reason names the closest
            column it has); or a default does not fit its column's type.
    """
    require_labels(columns, schema.labels)
    dtypes = schema.dtypes
    position = {name: i for i, name in enumerate(columns)}
    ignored = tuple(name for name in columns if name not in dtypes)
    if not any(name in position for name in schema.features):
        raise BadFileError(
            f"the header has none of the schema's feature columns {header_names(schema.features)}; "
            f"it has {header_names(columns)}"
        )
    lacking = [name for name in schema.features if name not in position and name not in defaults]
    if lacking:
        listed, them = lacking[:LISTED], "it" if len(lacking) == 1 else "them"
        raise BadFileError(
            f"the header has no column {_names(listed)}{_and_more(lacking)} of the schema, and no default "
            f"fills {them}{_suggestions(listed, ignored)}; it has {header_names(columns)}"
        )
    for name, value in defaults.items():
        if name not in dtypes:
            schema_names = header_names(list(dtypes))
            raise BadFileError(
                f"defaults names {excerpt(name)}, which is not a column of the schema {schema_names}"
            )
        problem = default_problem(name, value, dtypes[name])
        if problem:
            raise BadFileError(problem)
    groups = tuple(
        (dtype, tuple((n, position.get(n), defaults.get(n, NO_DEFAULT)) for n in schema.stored_order(dtype)))
        for dtype in schema.groups
    )
    # NaN spellings are fine: a typed parse refuses NaN, then the untyped one finds them missing.
    typed_first = not any(value_problem(value, "float32") is None for value in na_values)
    return ChunkPlan(len(columns), groups, tuple(sorted(na_values)), typed_first), ignored


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
            f"the header has no label column {_names(missing)}{_suggestions(missing, features)}; "
            f"it has {header_names(columns)}"
        )


def compression_of(head: bytes) -> str | None:
    """The compression format a file's first bytes show, or `None` for none."""
    for name, magic in COMPRESSION_MAGIC.items():
        if magic.match(head):
            return name
    return None


def _suggestions(missing: Sequence[str], names: Sequence[str]) -> str:
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
    return _names(shown) + width


def _names(names: Sequence[str]) -> str:
    """Names for a reason, as a list of excerpts."""
    return "[" + ", ".join(excerpt(name) for name in names) + "]"


def _listed(items: Sequence[str]) -> str:
    """The first `LISTED` items, then how many more."""
    return ", ".join(items[:LISTED]) + _and_more(items)


def _and_more(items: Sequence) -> str:
    """' and N more' for the items past the first `LISTED`, or ''."""
    return f" and {len(items) - LISTED} more" if len(items) > LISTED else ""

"""The rules a CSV header must follow, and reasons that name what breaks them."""

import collections
import csv
from collections.abc import Mapping, Sequence

from keras_growing_data.errors import BadFileError
from keras_growing_data.formats.column_names import (
    LISTED,
    and_more,
    header_names,
    listed_items,
    listed_names,
    require_labels,
    suggestions,
)
from keras_growing_data.formats.csv.line_checks import value_problem
from keras_growing_data.formats.csv.tf_parser import NO_DEFAULT, ChunkPlan
from keras_growing_data.formats.decompressed import check_one_layer
from keras_growing_data.formats.schema import Schema, default_problem
from keras_growing_data.utils.printable import excerpt

UTF8_BOM = b"\xef\xbb\xbf"


def parse_header(raw: bytes) -> list[str]:
    """The column names of a header line, trimmed of surrounding spaces.

    Raises:
        BadFileError: the header is not UTF-8 or not CSV, or has empty or
            repeated names; or the file was compressed twice (its content,
            once decompressed, starts with a magic number).
    """
    check_one_layer(raw)
    raw = raw.removeprefix(UTF8_BOM)
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
        raise BadFileError(f"line 1 (the header) has empty column names (columns {listed_items(empty)})")
    duplicates = [name for name, count in collections.Counter(columns).items() if count > 1]
    if duplicates:
        raise BadFileError(
            f"the header repeats column names {listed_names(duplicates[:LISTED])}{and_more(duplicates)}"
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
        first, them = lacking[:LISTED], "it" if len(lacking) == 1 else "them"
        raise BadFileError(
            f"the header has no column {listed_names(first)}{and_more(lacking)} of the schema, "
            f"and no default fills {them}{suggestions(first, ignored)}; it has {header_names(columns)}"
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
    # NaN spellings are fine: a column of digits holds none of them.
    numbers_are_values = not any(value_problem(value, "float32") is None for value in na_values)
    return ChunkPlan(len(columns), groups, tuple(sorted(na_values)), numbers_are_values), ignored

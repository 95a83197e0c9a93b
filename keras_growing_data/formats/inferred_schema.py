"""Infers a schema from a file's columns, once its format found which of them hold only numbers."""

from collections.abc import Mapping, Sequence

from keras_growing_data.errors import BadFileError
from keras_growing_data.formats.schema import Schema


def require_features(columns: Sequence[str], labels: Sequence[str]) -> None:
    """Checks that a file whose schema is to be inferred has a column besides the labels.

    Raises:
        BadFileError: it has only the labels.
    """
    if len(columns) == len(labels) and set(columns) == set(labels):
        raise BadFileError("the header has no feature column besides the labels")


def inferred_schema(
    columns: Sequence[str],
    numeric: Sequence[bool],
    labels: Sequence[str],
    defaults: Mapping[str, object],
    given: Mapping[str, object] | None = None,
) -> Schema:
    """The schema of a file with these columns: each `"float32"` if `numeric`, else `"string"`.

    `numeric` says, per column, whether its values, missing ones aside, all
    read as numbers (the format judges, by its own syntax). A column the
    file lacks but `defaults` names joins too (`"string"` for a str
    default, else `"float32"`), so later files may hold it or not; so do the
    columns that the file's folders give (`given`, typed by their values as
    defaults are).
    """
    dtypes = ["float32" if number else "string" for number in numeric]
    present = set(columns)
    optional = [
        (name, "string" if isinstance(value, str) else "float32")
        for name, value in {**defaults, **(given or {})}.items()
        if name not in present
    ]
    return Schema((*zip(columns, dtypes, strict=True), *optional), tuple(labels))

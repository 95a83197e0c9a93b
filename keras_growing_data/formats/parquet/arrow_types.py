"""How the types of a Parquet file's columns (as Arrow reads them) map to the schema's: inferred, or refused.

Every Arrow type is of one kind, and each schema type reads some kinds:

| kind | Arrow types | inferred | float32 | int64 | string |
| --- | --- | --- | --- | --- | --- |
| integer | int8 ... int64, uint8 ... uint64 | float32 | the value | the value | its digits |
| floating | float16, float32, float64, decimal | float32 | the value | refused | as Arrow writes it |
| boolean | bool | float32 | 1.0, 0.0 | 1, 0 | `"true"`, `"false"` |
| string | string, large_string, string_view, dictionary of those | string | refused | refused | as is |
| date | date32, date64 | string | refused | days since 1970 | `"2026-12-01"` |
| timestamp | timestamp, any unit and zone | string | refused | ns since 1970 UTC | ISO 8601, in ns |
| null | null (a column of nulls only) | float32 | missing | missing | missing |

Any other type (binary, time, duration; list, struct and map, which nest
values) is read by none: such a column is ignored when no schema names it
(and listed in `ParsedFile.ignored`), and refused when the schema does.
"""

import pyarrow as pa
import pyarrow.types as arrow

from keras_growing_data.formats.schema import DTYPES
from keras_growing_data.utils.printable import excerpt

# The kinds of Arrow type each schema type reads.
READS = {
    "float32": ("integer", "floating", "boolean", "null"),
    "int64": ("integer", "boolean", "date", "timestamp", "null"),
    "string": ("integer", "floating", "boolean", "string", "date", "timestamp", "null"),
}
# The kinds a schema inferred from a file types as strings; the others it reads are float32.
INFERRED_STRINGS = ("string", "date", "timestamp")


def kind_of(arrow_type: pa.DataType) -> str | None:
    """The kind of an Arrow type (`READS`), a dictionary-encoded one its values'; `None`: not read."""
    if arrow.is_dictionary(arrow_type):
        return kind_of(arrow_type.value_type)
    if arrow.is_integer(arrow_type):
        return "integer"
    if arrow.is_floating(arrow_type) or arrow.is_decimal(arrow_type):
        return "floating"
    if arrow.is_boolean(arrow_type):
        return "boolean"
    if arrow.is_string(arrow_type) or arrow.is_large_string(arrow_type) or arrow.is_string_view(arrow_type):
        return "string"
    if arrow.is_date(arrow_type):
        return "date"
    if arrow.is_timestamp(arrow_type):
        return "timestamp"
    if arrow.is_null(arrow_type):
        return "null"
    return None


def inferred_dtype(arrow_type: pa.DataType) -> str | None:
    """The schema type a column of this Arrow type is inferred as; `None`: it is not read (ignored)."""
    kind = kind_of(arrow_type)
    if kind is None:
        return None
    return "string" if kind in INFERRED_STRINGS else "float32"


def type_problem(name: str, arrow_type: pa.DataType, dtype: str) -> str | None:
    """Why the column `name`, of this Arrow type, cannot be read as `dtype`, or `None`.

    Example:

    >>> type_problem("price", pa.string(), "float32")
    "column 'price' is string, expected float32 (declare it string)"
    """
    kind = kind_of(arrow_type)
    if kind in READS[dtype]:
        return None
    readable = [other for other in DTYPES if kind in READS[other]]
    if readable:
        hint = f"declare it {' or '.join(readable)}"
    else:
        hint = "columns of this type are not read: leave it out of columns"
    return f"column {excerpt(name)} is {type_text(arrow_type)}, expected {dtype} ({hint})"


def type_text(arrow_type: pa.DataType) -> str:
    """An Arrow type in a reason: `double`, `dictionary-encoded string`, `a list`."""
    if arrow.is_dictionary(arrow_type):
        return f"dictionary-encoded {type_text(arrow_type.value_type)}"
    # A nested type's fields, names and types come from the file, at any length: its kind says enough.
    if arrow.is_struct(arrow_type):
        return "a struct"
    if arrow.is_map(arrow_type):
        return "a map"
    if arrow.is_union(arrow_type):
        return "a union"
    if arrow.is_nested(arrow_type):
        return "a list"
    return str(arrow_type)

"""One JSON Lines line read in Python: its object, and its values as column values, or why they are not.

The rules every JSON value follows, whichever parser read it (`arrow_rows`
takes the common cases fast and hands any other chunk here):

- a number is a float32 as its decimal rounds to float32 (finite only), an
  int64 if written as an integer (`1.0` is not one, as in CSV), and, in a
  string column, its text as written (`1.10` stays `"1.10"`);
- `true` and `false` are 1 and 0 in a number column, `"true"` and `"false"`
  in a string column;
- a string is a string column's value as it is; in a number column it is
  bad (`"3.5"` is text, not a number);
- `null` and a missing key are missing values: the column's default fills
  them, else the line is bad;
- an object or a list (nested values) is bad in any column of the schema,
  and ignored in a key the schema does not have.
"""

import json
import re

import numpy as np

from keras_growing_data.formats.column_names import suggestions
from keras_growing_data.formats.jsonl.key_plan import KeyColumn
from keras_growing_data.utils.printable import EXCERPT_CHARS, excerpt

# A JSON number that is an integer as written: no fraction, no exponent.
JSON_INTEGER = re.compile(r"-?(0|[1-9][0-9]*)")
_INT64 = np.iinfo(np.int64)
# The smallest magnitude that rounds to infinity in float32: float32's largest value plus half its last step.
FLOAT32_ROUNDS_TO_INF = 2.0**128 - 2.0**103
# What a line is refused for when it does not hold one JSON object.
NESTED = "nested objects and lists are not read (flatten them, or leave the key out of the columns)"


class JsonNumber(str):
    """A JSON number as its line writes it (`1.0`, `-2e3`; also `NaN` and `Infinity`, which json reads)."""


class BadLine(Exception):
    """Why a line is not a row; `key` names the key at fault, if one is."""

    def __init__(self, reason: str, key: str | None = None):
        super().__init__(reason)
        self.reason = reason
        self.key = key

    @property
    def text(self) -> str:
        """The reason as a skipped line's record says it: `key 'price': ...`, or the reason alone."""
        return self.reason if self.key is None else f"key {excerpt(self.key)}: {self.reason}"

    def at(self, line: int) -> str:
        """The reason as a file's reason says it: `line 7, key 'price': ...`, or `line 7: ...`."""
        return f"line {line}{',' if self.key is not None else ':'} {self.text}"


def _object(pairs: list) -> dict:
    keys = dict(pairs)
    if len(keys) < len(pairs):
        seen = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise BadLine(f"the key {excerpt(twice)} appears twice in one object")
    return keys


_DECODER = json.JSONDecoder(
    parse_float=JsonNumber, parse_int=JsonNumber, parse_constant=JsonNumber, object_pairs_hook=_object
)


def line_object(raw: bytes) -> dict:
    """The object a line holds (numbers as `JsonNumber`s).

    Bytes that are not UTF-8 matter only in a string column that is read
    (`string_value`), as in the Arrow parser.

    Raises:
        BadLine: the line is not JSON, or not one object.
    """
    text = raw.decode("utf-8", "surrogateescape")
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as e:
        if e.msg == "Extra data":
            raise BadLine(
                f"holds more than one JSON value (the next starts at character {e.pos + 1})"
            ) from None
        raise BadLine(f"not JSON: {e.msg.removesuffix(' at')} at character {e.pos + 1}") from None
    except RecursionError:
        raise BadLine("not JSON this parser reads: nested too deeply") from None
    if not isinstance(value, dict):
        raise BadLine(f"not a JSON object: found {shown(value)}; each line must hold one object")
    return value


def shown(value) -> str:
    """A JSON value as a reason shows it: a number or a string as written (short), or its kind."""
    if isinstance(value, JsonNumber):
        return excerpt(str(value)).strip("'")
    if isinstance(value, str):
        text = json.dumps(value[:EXCERPT_CHARS])
        return text + ("…" if len(value) > EXCERPT_CHARS else "")
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return "an object" if isinstance(value, dict) else "a list"


def missing(line: dict, column: KeyColumn) -> BadLine:
    """Why a line whose key `column.name` is missing or null, in a column without a default, is bad."""
    if column.name in line:
        return BadLine("missing value null, and the column has no default", column.name)
    close = suggestions([column.name], [key for key in line if isinstance(key, str)])
    return BadLine(f"no key {excerpt(column.name)}, and the column has no default{close}")


def float_value(value, key: str) -> float:
    """A JSON value of the float32 column `key`, as a float64 (its float32 is checked once narrowed).

    Raises:
        BadLine: it is not a number or a boolean.
    """
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, JsonNumber):
        number = float(value)
        if not abs(number) < FLOAT32_ROUNDS_TO_INF:  # NaN too.
            raise BadLine(
                f"expected a finite number, found {shown(value)} (NaN and infinite values are rejected)", key
            )
        return number
    raise BadLine(f"expected a number, found {shown(value)}{_nested(value)}", key)


def int_value(value, key: str) -> int:
    """A JSON value of the int64 column `key`.

    Raises:
        BadLine: it is not an integer as written, within int64, or a boolean.
    """
    if isinstance(value, bool):
        return int(value)
    if (
        isinstance(value, JsonNumber)
        and JSON_INTEGER.fullmatch(value)
        and _INT64.min <= int(value) <= _INT64.max
    ):
        return int(value)
    raise BadLine(f"expected an integer (int64), found {shown(value)}{_nested(value)}", key)


def string_value(value, key: str) -> str:
    """A JSON value of the string column `key`: a string as is, a number as written, `true`/`false` as words.

    Raises:
        BadLine: it is an object or a list, or a string that is not valid UTF-8.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):  # A JsonNumber too: its text.
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # A byte that was not UTF-8, or an escaped lone surrogate.
            raise BadLine("not valid UTF-8 (or a lone surrogate escape)", key) from None
        return str(value)
    raise BadLine(f"expected a string, found {shown(value)}{_nested(value)}", key)


def _nested(value) -> str:
    return f"; {NESTED}" if isinstance(value, dict | list) else ""

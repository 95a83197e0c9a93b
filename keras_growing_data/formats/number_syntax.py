"""The text of a number, as TensorFlow's parsers read it; one pattern for Python's `re` and RE2.

Shared: a CSV field and a partition folder's value (every format's) are read as numbers by it.
"""

import re

# What TensorFlow's number parsers (`safe_strtof`, `safe_strto64`, TF 2.21)
# accept, found by fuzzing them: ASCII digits, C whitespace around, no digit
# separators; a float may be hexadecimal, or `nan`, `inf`, `infinity` in any
# case.
_SPACE = r"[ \t\n\v\f\r]*"
_HEX = r"0[xX](?:[0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)(?:[pP][+-]?[0-9]+)?"
_DECIMAL = r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
FLOAT_PATTERN = f"{_SPACE}[+-]?({_HEX}|{_DECIMAL}|(?i:nan|inf|infinity)){_SPACE}"
INT_PATTERN = f"{_SPACE}[+-]?[0-9]+{_SPACE}"

# Around a value inside one CSV field, which holds no newline.
_FIELD_SPACE = r"[ \t\v\f\r]*"


def field_pattern(dtype: str, spelled_out: bool = True) -> str:
    """The text of one field that `tf.strings.to_number` converts to `dtype` (TF 2.21) without failing.

    A float may be NaN or infinite spelled out (`nan`, `-inf`), unless not
    `spelled_out`; an int64 must be in its range (to_number fails beyond).
    No newline: fields joined by newlines can be matched in one go.
    """
    if dtype == "int64":
        number = f"(?:\\+?{_at_most(str(2**63 - 1))}|-{_at_most(str(2**63))})"
    else:
        named = "|(?i:nan|inf|infinity)" if spelled_out else ""
        number = f"[+-]?(?:{_HEX}|{_DECIMAL}{named})"
    return f"{_FIELD_SPACE}{number}{_FIELD_SPACE}"


def _at_most(limit: str) -> str:
    """The digits of the integers from 0 to `limit` (leading zeros allowed), as a pattern."""
    shorter = f"[0-9]{{1,{len(limit) - 1}}}"
    same_length = [
        f"{limit[:i]}[0-{int(digit) - 1}][0-9]{{{len(limit) - i - 1}}}"
        for i, digit in enumerate(limit)
        if digit != "0"
    ]
    return "0*(?:" + "|".join([shorter, *same_length, limit]) + ")"


FLOAT = re.compile(FLOAT_PATTERN)
INT = re.compile(INT_PATTERN)


def parses_as_number(value: str) -> bool:
    """Whether a text reads as a float32, as `decode_csv` reads it."""
    return FLOAT.fullmatch(value) is not None

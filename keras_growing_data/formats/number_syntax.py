"""The text of a number, as TensorFlow's parsers read it; one pattern for Python's `re` and RE2.

Shared: a CSV field and a partition folder's value (every format's) are read as numbers by it.
"""

import re

# What TensorFlow's number parsers (`safe_strtof`, `safe_strto64`, TF 2.21)
# accept, found by fuzzing them: ASCII digits, C whitespace around, no digit
# separators; a float may be hexadecimal, or `nan`, `inf`, `infinity` in any
# case.
_SPACE = r"[ \t\n\v\f\r]*"
_HEX = r"0[xX]([0-9a-fA-F]+\.?[0-9a-fA-F]*|\.[0-9a-fA-F]+)([pP][+-]?[0-9]+)?"
_DECIMAL = r"([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?"
FLOAT_PATTERN = f"{_SPACE}[+-]?({_HEX}|{_DECIMAL}|(?i:nan|inf|infinity)){_SPACE}"
INT_PATTERN = f"{_SPACE}[+-]?[0-9]+{_SPACE}"
FLOAT = re.compile(FLOAT_PATTERN)
INT = re.compile(INT_PATTERN)


def parses_as_number(value: str) -> bool:
    """Whether a text reads as a float32, as `decode_csv` reads it."""
    return FLOAT.fullmatch(value) is not None

"""Finds a JSON Lines file's keys and what their values are, to infer a schema: `KeyKinds`."""

import pyarrow as pa
import pyarrow.json as pa_json

from keras_growing_data.formats.jsonl.json_values import BadLine, JsonNumber, line_object
from keras_growing_data.formats.jsonl.python_lines import JSON_SPACES


class KeyKinds:
    """The keys of a file's objects, in the order first seen, and which hold text or nested values.

    A key holds numbers if every value it has, nulls aside, is a number or
    a boolean; `text` if a value is a string; `nested` if one is an object
    or a list. A chunk is typed by Arrow's reader where it can type it,
    else line by line in Python (a bad line is left out here: the read
    that follows names it).

    Example:

    >>> kinds = KeyKinds()
    >>> kinds.add(b'{"a": 1, "b": "x", "c": {"d": 2}}\\n')
    >>> kinds.keys, kinds.numeric(["a", "b"]), kinds.nested
    (('a', 'b', 'c'), [True, False], {'c'})
    """

    def __init__(self):
        self._keys = {}
        self.text = set()
        self.nested = set()

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self._keys)

    def numeric(self, names) -> list[bool]:
        """Per name, whether its values are all numbers or booleans (nulls aside)."""
        return [name not in self.text and name not in self.nested for name in names]

    def add(self, data: bytes, block_bytes: int = 1 << 20) -> None:
        """Adds the keys of a chunk of whole lines."""
        try:
            table = pa_json.read_json(
                pa.BufferReader(data), read_options=pa_json.ReadOptions(block_size=block_bytes)
            )
        except (pa.ArrowException, UnicodeDecodeError):
            self._add_lines(data)
            return
        for field in table.schema:
            self._keys.setdefault(field.name)
            kind = field.type
            if pa.types.is_nested(kind):
                self.nested.add(field.name)
            elif not (
                pa.types.is_integer(kind)
                or pa.types.is_floating(kind)
                or pa.types.is_boolean(kind)
                or pa.types.is_null(kind)
            ):
                self.text.add(field.name)  # A string, or one Arrow read as a timestamp.

    def _add_lines(self, data: bytes) -> None:
        for raw in data.split(b"\n"):
            if not raw.strip(JSON_SPACES):
                continue
            try:
                line = line_object(raw)
            except BadLine:
                continue
            for key, value in line.items():
                self._keys.setdefault(key)
                if isinstance(value, dict | list):
                    self.nested.add(key)
                elif isinstance(value, str) and not isinstance(value, JsonNumber):
                    self.text.add(key)

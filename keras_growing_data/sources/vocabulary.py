"""The append-only list of the strings of one column, each with the id it keeps."""

import hashlib
import json
from collections.abc import Mapping, Sequence

import numpy as np

UNKNOWN = "[UNK]"


class Vocabulary:
    """The strings one column has held, in the order first accepted.

    Item i is the string of id i; id 0 is `"[UNK]"` (unknown), as in
    `keras.layers.StringLookup`, so `StringLookup(vocabulary=v.strings[1:])`
    maps each string to the same id. Strings are only ever appended, so an
    id never changes as files arrive.

    Example:

    >>> vocabulary = Vocabulary()
    >>> vocabulary.ids_of(["red", "blue", "red"])
    array([1, 2, 1], dtype=int32)
    >>> vocabulary.strings
    ['[UNK]', 'red', 'blue']
    """

    def __init__(self, strings: Sequence[str] = (UNKNOWN,)):
        self.strings = list(strings)
        self._ids = {s: i for i, s in enumerate(self.strings)}

    def __len__(self) -> int:
        return len(self.strings)

    def ids_of(self, strings: Sequence[str]) -> np.ndarray:
        """The id of each string, appending the new ones in order."""
        ids = np.empty(len(strings), np.int32)
        for i, string in enumerate(strings):
            found = self._ids.get(string)
            if found is None:
                found = self._ids[string] = len(self.strings)
                self.strings.append(string)
            ids[i] = found
        return ids

    def truncate(self, length: int) -> None:
        """Forgets the strings from id `length` on (those of rows that could not be kept)."""
        for string in self.strings[length:]:
            del self._ids[string]
        del self.strings[length:]


def digest(vocabularies: Mapping[str, Vocabulary]) -> str:
    """A digest of every column's vocabulary: equal digests, equal ids."""
    strings = {name: vocabulary.strings for name, vocabulary in sorted(vocabularies.items())}
    return hashlib.sha1(json.dumps(strings).encode()).hexdigest()

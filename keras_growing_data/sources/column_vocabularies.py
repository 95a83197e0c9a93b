"""The vocabularies of a schema's string columns: one part of the ingest, with its own state."""

from collections.abc import Callable, Iterator, Mapping

import numpy as np

from keras_growing_data.formats.schema import Schema
from keras_growing_data.sources.vocabulary import UNKNOWN, Vocabulary
from keras_growing_data.utils.scratch_arrays import row_blocks


class ColumnVocabularies(Mapping):
    """Column name -> `Vocabulary`: the ids that stored rows hold for each string column.

    A file's rows come with ids into the file's own distinct strings; `keep`
    turns them into ids of the columns' append-only vocabularies as the
    rows are stored. The state (`get_state`/`set_state`) is each column's
    strings, so that ids survive a restart even once the rows that brought
    them left a window.

    Example:

    >>> vocabularies = ColumnVocabularies()
    >>> pieces, new = vocabularies.keep(schema, arrays, strings, store.append)
    >>> vocabularies.strings("city")
    ['[UNK]', 'Austin', 'Oslo']
    """

    def __init__(self):
        self._vocabularies = {}

    def __getitem__(self, name: str) -> Vocabulary:
        return self._vocabularies[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._vocabularies)

    def __len__(self) -> int:
        return len(self._vocabularies)

    def strings(self, name: str) -> list[str]:
        """The strings of column `name`: item i is the string of id i, item 0 `"[UNK]"`."""
        vocabulary = self._vocabularies.get(name)
        return [UNKNOWN] if vocabulary is None else list(vocabulary.strings)

    def keep(self, schema: Schema, arrays: dict, strings: dict, store: Callable[[dict], list[int]]):
        """Renumbers a file's string ids into the vocabularies, then `store(arrays)`; returns what both added.

        Returns the store's pieces and, per column, the strings new to its
        vocabulary. If `store` raises (a full disk), the vocabularies are as
        they were before, and the error goes on.
        """
        vocabularies = self._of(schema)
        lengths = {name: len(vocabulary) for name, vocabulary in vocabularies.items()}
        try:
            if "string" in arrays:
                self.renumber(schema, arrays["string"], strings)
            pieces = store(arrays)
        except BaseException:
            for name, length in lengths.items():
                vocabularies[name].truncate(length)
            raise
        added = {name: vocabularies[name].strings[length:] for name, length in lengths.items()}
        return pieces, {name: new for name, new in added.items() if new}

    def renumber(self, schema: Schema, ids: np.ndarray, strings: dict[str, tuple[str, ...]]) -> None:
        """Turns a file's string ids (into its own distinct strings) into vocabulary ids, in place.

        A memory map is renumbered in blocks (`row_blocks`), so that its pages
        do not all stay in the process.
        """
        lookups = [vocabulary.ids_of(strings[name]) for name, vocabulary in self._of(schema).items()]
        for block in row_blocks(ids):
            for j, lookup in enumerate(lookups):
                block[:, j] = lookup[block[:, j]]

    def get_state(self) -> dict[str, list[str]]:
        """Each column's strings but `"[UNK]"`, as the state keeps them."""
        return {name: vocabulary.strings[1:] for name, vocabulary in self._vocabularies.items()}

    def set_state(self, state: Mapping[str, list[str]]) -> None:
        """Takes the vocabularies `get_state` gave: the rows restored renumber into them."""
        self._vocabularies = {name: Vocabulary([UNKNOWN, *strings]) for name, strings in state.items()}

    def _of(self, schema: Schema) -> dict[str, Vocabulary]:
        """Each string column's vocabulary, in the schema's stored order."""
        names = schema.stored_order("string")
        return {name: self._vocabularies.setdefault(name, Vocabulary()) for name in names}

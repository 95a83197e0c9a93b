import numpy as np
import pytest

from keras_growing_data.formats.schema import Schema
from keras_growing_data.sources.column_vocabularies import ColumnVocabularies
from keras_growing_data.storage.memory_store import MemoryRowStore

SCHEMA = Schema((("city", "string"), ("x", "float32"), ("color", "string"), ("price", "float32")), ("price",))


def file_rows(cities, colors):
    """A file's rows as a format gives them: string ids into the file's own distinct strings."""
    distinct = {"city": tuple(dict.fromkeys(cities)), "color": tuple(dict.fromkeys(colors))}
    ids = np.array(
        [
            [distinct["city"].index(c), distinct["color"].index(k)]
            for c, k in zip(cities, colors, strict=True)
        ],
        np.int64,
    )
    floats = np.zeros((len(cities), 2), np.float32)
    return {"string": ids, "float32": floats}, distinct


def test_kept_rows_hold_vocabulary_ids_that_only_grow_and_survive_a_state_round_trip():
    vocabularies, store = ColumnVocabularies(), MemoryRowStore()

    def append(arrays):
        return store.append(arrays, owned=True)

    arrays, strings = file_rows(["Oslo", "Lima", "Oslo"], ["red", "red", "blue"])
    pieces, new = vocabularies.keep(SCHEMA, arrays, strings, append)
    assert len(pieces) == 1
    assert new == {"city": ["Oslo", "Lima"], "color": ["red", "blue"]}
    np.testing.assert_array_equal(arrays["string"], [[1, 1], [2, 1], [1, 2]])

    arrays, strings = file_rows(["Lima", "Pune"], ["blue", "blue"])
    _, new = vocabularies.keep(SCHEMA, arrays, strings, append)
    assert new == {"city": ["Pune"]}
    np.testing.assert_array_equal(arrays["string"], [[2, 2], [3, 2]])
    assert vocabularies.strings("city") == ["[UNK]", "Oslo", "Lima", "Pune"]
    assert vocabularies.strings("unknown column") == ["[UNK]"]
    assert store.num_rows == 5

    restored = ColumnVocabularies()
    restored.set_state(vocabularies.get_state())
    assert {name: restored.strings(name) for name in restored} == {
        name: vocabularies.strings(name) for name in vocabularies
    }


def test_rows_the_store_refuses_add_no_strings():
    vocabularies, store = ColumnVocabularies(), MemoryRowStore()
    arrays, strings = file_rows(["Oslo"], ["red"])
    vocabularies.keep(SCHEMA, arrays, strings, lambda a: store.append(a, owned=True))
    arrays, strings = file_rows(["Lima", "Pune"], ["blue", "green"])
    arrays["float32"] = arrays["float32"][:1]  # Arrays of different lengths: the store refuses them.
    with pytest.raises(ValueError, match="differ in length"):
        vocabularies.keep(SCHEMA, arrays, strings, lambda a: store.append(a, owned=True))
    assert vocabularies.get_state() == {"city": ["Oslo"], "color": ["red"]}
    assert store.num_rows == 1

from keras_growing_data.sources.vocabulary import Vocabulary


def test_ids_are_appended_in_order_first_seen_and_never_change():
    vocabulary = Vocabulary()
    assert vocabulary.ids_of(["red", "blue", "red"]).tolist() == [1, 2, 1]
    assert vocabulary.ids_of(["green", "blue", "[UNK]"]).tolist() == [3, 2, 0]
    assert vocabulary.strings == ["[UNK]", "red", "blue", "green"]
    assert len(Vocabulary(vocabulary.strings)) == 4

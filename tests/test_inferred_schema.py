import pytest

from keras_growing_data.errors import BadFileError
from keras_growing_data.formats.inferred_schema import inferred_schema, require_features
from keras_growing_data.formats.schema import Schema


def test_numeric_columns_are_float32_the_others_strings_and_defaults_and_folders_add_columns():
    schema = inferred_schema(
        ["city", "area", "price"], [False, True, True], ["price"], {"rooms": 1, "note": "-"}, {"dt": "x"}
    )
    assert schema == Schema(
        (
            ("city", "string"),
            ("area", "float32"),
            ("price", "float32"),
            ("rooms", "float32"),
            ("note", "string"),
            ("dt", "string"),
        ),
        ("price",),
    )


def test_a_file_of_labels_alone_has_no_schema():
    with pytest.raises(BadFileError, match="^the header has no feature column besides the labels$"):
        require_features(["y2", "y1"], ["y1", "y2"])
    require_features(["y1", "x"], ["y1"])

import pytest

from keras_growing_data.formats.csv.pandas_parser import load_pandas
from keras_growing_data.formats.schema import (
    PANDAS_NA_VALUES,
    Schema,
    check_columns,
    check_defaults,
    check_na_values,
)


def test_each_type_is_stored_features_first_then_labels_in_their_order():
    schema = Schema(
        (("y2", "float32"), ("city", "string"), ("a", "float32"), ("n", "int64"), ("y1", "float32")),
        labels=("y1", "y2"),
    )
    assert schema.features == ("city", "a", "n")
    assert schema.groups == ("float32", "int64", "string")
    assert schema.stored_order("float32") == ("a", "y1", "y2")
    assert [schema.slot(name) for name in ("a", "y1", "y2", "n", "city")] == [
        ("float32", 0), ("float32", 1), ("float32", 2), ("int64", 0), ("string", 0)
    ]  # fmt: skip
    assert Schema.from_json(schema.to_json(), schema.labels) == schema


@pytest.mark.skipif(load_pandas() is None, reason="pandas is not installed")
def test_the_default_missing_values_are_pandas_own():
    assert set(PANDAS_NA_VALUES) == set(load_pandas()._libs.parsers.STR_NA_VALUES)


def test_arguments_are_checked_where_given():
    assert check_columns(None, ["y"]) is None
    assert check_na_values(["NA ", "-999"]) == {"NA", "-999", ""}
    with pytest.raises(TypeError, match="na_values must be None or a list of str"):
        check_na_values("NA")
    with pytest.raises(TypeError, match="columns must be None or a dict"):
        check_columns(["a", "y"], ["y"])
    with pytest.raises(ValueError, match="columns declares no feature column besides the labels"):
        check_columns({"y": "float32"}, ["y"])
    with pytest.raises(ValueError, match=r"columns: ' a' is not a column name"):
        check_columns({" a": "float32", "y": "float32"}, ["y"])
    declared = check_columns({"a": "string", "y": "float32"}, ["y"])
    with pytest.raises(ValueError, match="the default of string column 'a' must be a str, got 0"):
        check_defaults({"a": 0}, declared)
    with pytest.raises(ValueError, match="defaults names 'b', which columns does not declare"):
        check_defaults({"b": 0}, declared)
    with pytest.raises(ValueError, match="the default of 'y' must be finite or NaN, got inf"):
        check_defaults({"y": float("inf")}, declared)
    with pytest.raises(TypeError, match="the default of 'y' must be a number or a str, got True"):
        check_defaults({"y": True}, None)

"""`GrowingDataCallback.encode` (`RawColumns`): raw values made into the served `x`, on every backend."""

import keras
import numpy as np
import pytest
from helpers import GAPPY_COLUMNS, GAPPY_HEADER, write_gappy_csv

import keras_growing_data as kgd
from keras_growing_data.training.default_model import default_model

DEFAULTS = {"city": "other", "area": 25.0}


def raw_columns(rows):
    """CSV rows as read by `csv.DictReader` made into a dict of columns, every value its text."""
    return {name: [row[name] for row in rows] for name in GAPPY_HEADER}


def served_x(data):
    """`x` of the one unshuffled batch that holds every row, as numpy."""
    x, _ = next(iter(data.build_dataset(shuffle=False)))
    return {k: v.numpy() for k, v in x.items()} if isinstance(x, dict) else x.numpy()


def polled(folder, **options):
    data = kgd.GrowingDataCallback(str(folder), "price", batch_size=1000, columns=GAPPY_COLUMNS, **options)
    data.poll()
    assert len(data.accepted) == 1 and not data.rejected
    return data


def test_encode_gives_the_served_ids_and_numbers_of_raw_text(folder):
    rows = write_gappy_csv(folder / "a.csv")
    data = polled(folder, defaults=DEFAULTS, strings_as="index")
    encoded = data.encode(raw_columns(rows))
    served = served_x(data)
    assert sorted(encoded) == ["area", "city", "rooms"], "the label is left out"
    for name in ("city", "rooms", "area"):
        assert encoded[name].dtype == served[name].dtype, name
        np.testing.assert_array_equal(encoded[name], served[name], err_msg=name)
    assert data.vocabulary("city")[3] == "other"
    assert list(encoded["city"][[2, 4]]) == [3, 3], "missing: the default's id"
    assert encoded["area"][0] == 25.0 and encoded["area"][9] == 16.0, "a gap and 0x1p4"


def test_model_predict_on_encoded_rows_equals_it_on_the_served_batch(folder):
    # The route on JAX and PyTorch, which take no string tensor: raw rows encoded, then `predict`.
    rows = write_gappy_csv(folder / "a.csv")
    data = polled(folder, defaults=DEFAULTS, strings_as="index", seed=0)
    keras.utils.set_random_seed(0)
    model = default_model(data, print_fn=None)
    history = kgd.GrowingDatasetTrainer(model, data).fit(epochs=2, verbose=0)
    assert history.history["rows"] == [70, 70]
    expected = model.predict(served_x(data), verbose=0)
    predicted = model.predict(data.encode(raw_columns(rows)), verbose=0)
    assert predicted.shape == (70, 1)
    np.testing.assert_allclose(predicted, expected, rtol=1e-6, atol=1e-6)


def test_encode_takes_numbers_as_numbers_and_none_nan_as_missing(folder):
    write_gappy_csv(folder / "a.csv")
    data = polled(folder, defaults=DEFAULTS, strings_as="index")
    encoded = data.encode(
        {
            "city": np.array(["Oslo", None, "Atlantis", "[UNK]", " NA "], object),
            "rooms": [1.0, 2.0, 3, np.int64(4), " 7 "],
            "area": np.array([20.5, np.nan, 1e30, -3.0, 2.0], np.float64),
        }
    )
    oslo, other = data.vocabulary("city").index("Oslo"), data.vocabulary("city").index("other")
    np.testing.assert_array_equal(encoded["city"], [oslo, other, 0, 0, other])
    np.testing.assert_array_equal(encoded["rooms"], [1, 2, 3, 4, 7])
    np.testing.assert_array_equal(encoded["area"], np.array([20.5, 25.0, 1e30, -3.0, 2.0], np.float32))


def test_encode_serves_strings_as_strings(folder):
    rows = write_gappy_csv(folder / "a.csv")
    data = polled(folder, defaults=DEFAULTS)
    encoded = data.encode(raw_columns(rows))
    served = served_x(data)
    assert encoded["city"].dtype == object
    assert list(encoded["city"]) == [s.decode() for s in served["city"]]
    assert encoded["city"][2] == "other" and encoded["city"][6] == " Lima"


def test_encode_gives_the_served_matrix_of_an_all_float_table(folder):
    rows = write_gappy_csv(folder / "a.csv")
    columns = {"rooms": "int64", "area": "float32", "price": "float32"}
    data = kgd.GrowingDataCallback(
        str(folder), "price", batch_size=1000, columns=columns, defaults={"area": -1.0}, features="matrix"
    )
    data.poll()
    encoded = data.encode(raw_columns(rows))
    assert encoded.dtype == np.float32 and encoded.shape == (70, 2)
    np.testing.assert_array_equal(encoded, served_x(data))


def test_encode_fills_a_column_rows_lack_with_its_default(folder):
    write_gappy_csv(folder / "a.csv")
    data = polled(folder, defaults=DEFAULTS, strings_as="index")
    encoded = data.encode({"rooms": [1, 2], "price": [0.0, 0.0], "ignored": ["x", "y"]})
    other = data.vocabulary("city").index("other")
    np.testing.assert_array_equal(encoded["city"], [other, other])
    np.testing.assert_array_equal(encoded["area"], [25.0, 25.0])


@pytest.mark.parametrize(
    "rows, reason",
    [
        (
            {"city": ["Oslo", "Lima"], "rooms": [1, ""], "area": [1.0, 2.0]},
            "rows['rooms'][1]: missing value '', and the column has no default",
        ),
        (
            {"city": ["Oslo"], "rooms": [None], "area": [1.0]},
            "rows['rooms'][0]: missing value None, and the column has no default",
        ),
        (
            {"city": ["Oslo"], "rooms": [2.5], "area": [1.0]},
            "rows['rooms'][0]: expected an integer (int64), found 2.5",
        ),
        (
            {"city": ["Oslo"], "rooms": ["2.0"], "area": [1.0]},
            "rows['rooms'][0]: expected an integer (int64), found '2.0'",
        ),
        (
            {"city": ["Oslo"], "rooms": [True], "area": [1.0]},
            "rows['rooms'][0]: expected a number, found True (bool)",
        ),
        # Arrays of numbers are read with numpy, to the same reasons.
        (
            {"city": ["Oslo"] * 2, "rooms": np.array([1.0, np.nan]), "area": [1.0] * 2},
            "rows['rooms'][1]: missing value nan, and the column has no default",
        ),
        (
            {"city": ["Oslo"], "rooms": np.array([2.5]), "area": [1.0]},
            "rows['rooms'][0]: expected an integer (int64), found 2.5",
        ),
        (
            {"city": ["Oslo"], "rooms": np.array([2**63], np.uint64), "area": [1.0]},
            "rows['rooms'][0]: expected an integer (int64), found 9223372036854775808",
        ),
        (
            {"city": ["Oslo"], "rooms": [1], "area": np.array([1e39])},
            "rows['area'][0]: expected a finite number, found 1e+39 (infinite values are rejected)",
        ),
        (
            {"city": ["Oslo"], "rooms": [1], "area": ["abc"]},
            "rows['area'][0]: expected a number, found 'abc'",
        ),
        (
            {"city": ["Oslo"], "rooms": [1], "area": [float("inf")]},
            "rows['area'][0]: expected a finite number, found inf (infinite values are rejected)",
        ),
        (
            {"city": ["Oslo"], "rooms": [1], "area": [1e39]},
            "rows['area'][0]: expected a finite number, found 1e+39 (infinite values are rejected)",
        ),
        ({"city": [3], "rooms": [1], "area": [1.0]}, "rows['city'][0]: expected a str, found 3 (int)"),
        ({"city": ["Oslo"], "area": [1.0]}, "rows have no column ['rooms'], and no default fills it"),
        (
            {"city": ["Oslo"], "Rooms": [1], "area": [1.0]},
            "rows have no column ['rooms'] (did you mean 'Rooms'?), and no default fills it",
        ),
        ({"city": ["Oslo", "Lima"], "rooms": [1], "area": [1.0]}, "the columns of rows differ in length: "),
        (
            {"city": "Oslo", "rooms": [1], "area": [1.0]},
            "rows['city'] must be a list or a 1-D array of values",
        ),
    ],
)
def test_encode_refuses_what_the_ingest_rejects_naming_the_value(folder, rows, reason):
    write_gappy_csv(folder / "a.csv")
    data = polled(folder, defaults=DEFAULTS, strings_as="index")
    with pytest.raises(kgd.BadValueError) as raised:
        data.encode(rows)
    assert str(raised.value).startswith(reason)
    assert isinstance(raised.value, ValueError)


def test_encode_needs_a_schema(folder):
    data = kgd.GrowingDataCallback(str(folder), "price")
    with pytest.raises(ValueError, match=r"^No schema yet for .*: poll\(\) until a file is accepted"):
        data.encode({"x": [1.0]})

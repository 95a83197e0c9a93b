"""`GrowingDataCallback.predicting_model`: a trained model made to take raw column values by name."""

import json
import math

import keras
import numpy as np
from helpers import GAPPY_COLUMNS, TENSORFLOW_ONLY, run_python, write_gappy_csv

import keras_growing_data as kgd
from keras_growing_data.training.default_model import default_model

DEFAULTS = {"city": "other", "area": 25.0}

# Loads the model with Keras alone, predicts on the raw values of a JSON file, saves the predictions.
PREDICT_IN_A_FRESH_PROCESS = """
import json, sys
import keras
import numpy as np

model = keras.saving.load_model(sys.argv[1])
with open(sys.argv[2]) as f:
    raw = json.load(f)
x = {
    "city": np.array(raw["city"], dtype=object),
    "rooms": np.array(raw["rooms"], dtype="int64"),
    "area": np.array(raw["area"], dtype="float32"),
}
np.save(sys.argv[3], model.predict(x, verbose=0))
print("keras_growing_data imported:", "keras_growing_data" in sys.modules)
"""


def served_x(data):
    """`x` of the one unshuffled batch that holds every row, as numpy: strings as str objects.

    Keras 3.15's `predict` takes an object array of str, not one of bytes (`Invalid dtype: object`).
    """
    x, _ = next(iter(data.build_dataset(shuffle=False)))
    if not isinstance(x, dict):
        return x.numpy()
    decoded = {
        k: np.array([s.decode() for s in v.numpy()], object) for k, v in x.items() if v.dtype == "string"
    }
    return {k: v.numpy() for k, v in x.items()} | decoded


def trained(folder, model_of=None, **options):
    """A callback over `folder` (one file, accepted whole) and a model trained on it for 2 epochs."""
    data = kgd.GrowingDataCallback(str(folder), "price", batch_size=1000, shuffle=False, **options)
    data.poll()
    assert len(data.accepted) == 1 and not data.rejected
    keras.utils.set_random_seed(0)
    model = model_of(data) if model_of else default_model(data, print_fn=None)
    history = kgd.GrowingDatasetTrainer(model, data).fit(epochs=2, verbose=0)
    assert history.history["rows"] == [70, 70]
    return data, model


def number(text):
    """A CSV number as a program holds it: NaN for a gap."""
    return math.nan if text == "" else float.fromhex(text) if "x" in text else float(text)


def test_saved_predicting_model_predicts_on_raw_values_in_a_fresh_process(folder, tmp_path):
    # Trained and saved on this process's backend; loaded where Keras runs on TensorFlow, which
    # alone takes string tensors (the route from JAX and PyTorch).
    rows = write_gappy_csv(folder / "a.csv")
    data, model = trained(folder, columns=GAPPY_COLUMNS, defaults=DEFAULTS, strings_as="index")
    served = served_x(data)
    expected = model.predict(served, verbose=0)
    # The file's rows, then an unseen string and the unknown token, which both take id 0.
    raw = {
        "city": [row["city"] for row in rows] + ["Atlantis", "[UNK]"],
        "rooms": [int(row["rooms"]) for row in rows] + [2, 2],
        "area": [number(row["area"]) for row in rows] + [21.0, 21.0],
    }
    unknown = {"city": np.array([0, 0]), "rooms": np.array([2, 2]), "area": np.array([21.0, 21.0], "float32")}
    expected_unknown = model.predict(unknown, verbose=0)
    saved = tmp_path / "model.keras"
    data.predicting_model(model).save(saved)
    (tmp_path / "raw.json").write_text(json.dumps(raw))  # NaN is written as NaN, which json reads back.

    done = run_python(
        tmp_path,
        PREDICT_IN_A_FRESH_PROCESS,
        saved,
        tmp_path / "raw.json",
        tmp_path / "p.npy",
        env={"KERAS_BACKEND": "tensorflow"},
    )

    assert done.returncode == 0, done.stderr.decode()[-3000:]
    assert done.stdout.decode().splitlines()[-1] == "keras_growing_data imported: False"
    predicted = np.load(tmp_path / "p.npy")
    assert predicted.shape == (72, 1)
    # Across backends, float32 sums may be added in another order.
    tolerance = 1e-6 if keras.backend.backend() == "tensorflow" else 1e-5
    np.testing.assert_allclose(predicted[:70], expected, rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(predicted[70:], expected_unknown, rtol=tolerance, atol=tolerance)
    assert len(set(np.round(expected.ravel(), 3))) > 5, "the rows' predictions differ: a real comparison"


@TENSORFLOW_ONLY
def test_strings_served_as_strings_reach_the_model_as_written_and_missing_ones_predict_nan(folder):
    write_gappy_csv(folder / "a.csv", cities=("Austin", "Oslo", "New York, NY", " Lima"))

    def model_with_lookup(data):
        city = keras.Input((), dtype="string", name="city")
        numbers = [keras.Input((), name="rooms", dtype="int64"), keras.Input((), name="area")]
        ids = keras.layers.StringLookup(vocabulary=data.vocabulary("city")[1:])(city)
        parts = [keras.layers.Flatten()(keras.layers.Embedding(8, 3)(ids))]
        parts += [keras.ops.expand_dims(keras.ops.cast(n, "float32"), 1) for n in numbers]
        output = keras.layers.Dense(1)(keras.layers.Concatenate()(parts))
        model = keras.Model({"city": city, "rooms": numbers[0], "area": numbers[1]}, output)
        model.compile(optimizer="adam", loss="mse")
        return model

    data, model = trained(folder, model_of=model_with_lookup, columns=GAPPY_COLUMNS, defaults={"area": 25.0})
    served = served_x(data)
    expected = model.predict(served, verbose=0)
    predicting = data.predicting_model(model)
    predicted = predicting.predict(served, verbose=0)
    np.testing.assert_allclose(predicted, expected, rtol=1e-6, atol=1e-6)

    # An unseen string reaches the model as written (its own StringLookup makes it unknown); a
    # missing one has no default: the ingest would reject the row, so it predicts NaN.
    raw = {
        "city": np.array(["Atlantis", "", "NA", " Lima"], object),
        "rooms": np.full(4, 2),
        "area": np.full(4, 21.0),
    }
    predicted = predicting.predict(raw, verbose=0)
    atlantis = model.predict(
        {**raw, "city": np.array(["Atlantis", "Atlantis", "Atlantis", " Lima"], object)}, verbose=0
    )
    np.testing.assert_allclose(predicted[[0, 3]], atlantis[[0, 3]], rtol=1e-6, atol=1e-6)
    assert np.isnan(predicted[1:3]).all() and not np.isnan(predicted[[0, 3]]).any()


def test_predicting_model_fills_number_defaults_and_predicts_nan_for_rejected_rows(folder):
    # Numbers only: the model is built and predicts on every backend.
    rows = write_gappy_csv(folder / "a.csv")
    columns = {"rooms": "float32", "area": "float32", "price": "float32"}
    data, model = trained(folder, columns=columns, defaults={"area": 25.0})
    expected = model.predict(served_x(data), verbose=0)
    predicting = data.predicting_model(model)
    rooms = np.array([number(row["rooms"]) for row in rows], "float32")
    area = np.array([number(row["area"]) for row in rows], "float32")
    assert np.isnan(area).sum() == 14
    predicted = predicting.predict({"rooms": rooms, "area": area}, verbose=0)
    np.testing.assert_allclose(predicted, expected, rtol=1e-6, atol=1e-6)

    # A missing value without a default, and an infinite one, are rejected by the ingest: NaN.
    raw = {
        "rooms": np.array([np.nan, 1.0, 1.0], "float32"),
        "area": np.array([21.0, np.inf, 21.0], "float32"),
    }
    predicted = predicting.predict(raw, verbose=0)
    assert np.isnan(predicted[:2]).all() and not np.isnan(predicted[2]).any()

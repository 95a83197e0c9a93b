"""`default_model`: a first model for the rows accepted so far, trained as served on every backend."""

import warnings

import keras
import numpy as np
from helpers import write_csv

import keras_growing_data as kgd
from keras_growing_data.training.default_model import default_model

CITIES = ["Oslo", "Rome", "Lima", "Pune"]


def test_string_ids_and_int64_numbers_train_without_a_dtype_warning(folder):
    rows = [(CITIES[i % 4], i % 5, 2.0 * (i % 4) + 0.5 * (i % 5)) for i in range(90)]
    write_csv(folder / "a.csv", rows, header=("city", "rooms", "price"))
    data = kgd.GrowingDataCallback(
        folder,
        label="price",
        batch_size=16,
        strings_as="index",
        settle_seconds=0,
        columns={"city": "string", "rooms": "int64", "price": "float32"},
    )
    data.poll()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = default_model(data, print_fn=None)
        history = kgd.GrowingDatasetTrainer(model, data).fit(epochs=2, verbose=0)
        x, _ = next(iter(data.build_dataset(shuffle=False)))
        predicted = model.predict(x, verbose=0)
    # On JAX an int64 input warned at every trace: "Explicitly requested dtype int64 requested in
    # asarray is not available, and will be truncated to dtype int32".
    assert [str(w.message) for w in caught if "int64" in str(w.message)] == []
    assert history.history["rows"] == [90, 90]
    assert {name: tensor.dtype for name, tensor in x.items()} == {"city": "int64", "rooms": "int64"}
    assert {i.name: i.dtype for i in model.inputs} == {"city": "int32", "rooms": "float32"}
    assert predicted.shape == (16, 1) and np.all(np.isfinite(predicted))
    assert keras.backend.standardize_dtype(predicted.dtype) == "float32"

import keras
import pytest
from helpers import OLD, write_csv

import keras_growing_data as kgd


def regression_model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def folder_with_a_stray_text_label(folder):
    """The oldest file, which the schema is inferred from, has one label that is not a number."""
    stray = write_csv(folder / "a.csv", [(0, 1, 2.5), (1, 2, "x"), (2, 3, 4.5)], header=("id", "a", "b"))
    write_csv(folder / "b.csv", [(3, 4, 5.5), (4, 5, 6.5)], header=("id", "a", "b"), mtime=OLD + 1)
    return stray


def test_a_label_inferred_as_text_stops_fit_before_the_first_epoch_naming_file_and_value(folder):
    # Training failed in the loss: "Graph execution error: ... Cast string to float is not supported".
    stray = folder_with_a_stray_text_label(folder)
    data = kgd.GrowingDataCallback(folder, label="b", settle_seconds=0)
    problem = (
        f"label 'b' is a string column: its type was inferred from {stray}, where it holds 'x', which is "
        "not a number, and a loss cannot take text. Declare the columns (columns={..., 'b': 'float32'}) "
        "to reject the files that hold text there, each with the line named; or pass strings_as='index' "
        "to train on class ids."
    )
    data.poll()
    assert data.schema == {"id": "float32", "a": "float32", "b": "string"} and data.num_rows == 5
    model = regression_model()
    weights = [w.copy() for w in model.get_weights()]
    with pytest.raises(ValueError) as error:
        kgd.GrowingDatasetTrainer(model, data).fit(epochs=2, verbose=0)
    assert str(error.value) == problem
    assert all((before == after).all() for before, after in zip(weights, model.get_weights(), strict=True))


def test_a_declared_float_label_rejects_the_file_with_text_and_trains_on_the_rest(folder):
    stray = folder_with_a_stray_text_label(folder)
    columns = {"id": "float32", "a": "float32", "b": "float32"}
    data = kgd.GrowingDataCallback(folder, label="b", settle_seconds=0, columns=columns)
    history = kgd.GrowingDatasetTrainer(regression_model(), data).fit(epochs=1, verbose=0)
    assert history.history["rows"] == [2]
    assert data.rejected[stray].reason == "line 3, column 'b': expected a number, found 'x'"


def test_text_labels_served_as_class_ids_train(folder):
    folder_with_a_stray_text_label(folder)
    data = kgd.GrowingDataCallback(folder, label="b", settle_seconds=0, strings_as="index")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(8, activation="softmax")])
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    history = kgd.GrowingDatasetTrainer(model, data).fit(epochs=1, verbose=0)
    assert history.history["rows"] == [5] and data.vocabulary("b") == [
        "[UNK]",
        "2.5",
        "x",
        "4.5",
        "5.5",
        "6.5",
    ]

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import CITIES, OLD, TENSORFLOW_ONLY, mixed_rows, write_mixed_csv

import keras_growing_data as kgd


class DropMixedFiles(keras.callbacks.Callback):
    """Writes mixed files at the end of given epochs: {epoch: [(name, first_id, n, cities)]}."""

    def __init__(self, folder, plan):
        super().__init__()
        self.folder = folder
        self.plan = plan

    def on_epoch_end(self, epoch, logs=None):
        for name, first_id, count, cities in self.plan.get(epoch, []):
            write_mixed_csv(self.folder / name, mixed_rows(first_id, count, cities))


class SeenIds(keras.layers.Layer):
    """Counts, in training, the rows (by their id input) each epoch passes through.

    An id counts once per batch: a padded last batch repeats rows with weight 0.
    """

    def build(self, input_shape):
        self.counts = self.add_weight(shape=(1000,), initializer="zeros", trainable=False, name="counts")

    def call(self, ids, training=False):
        if training:
            hits = keras.ops.one_hot(keras.ops.cast(ids, "int32"), 1000)
            self.counts.assign_add(keras.ops.max(hits, axis=0))
        return ids


class CountsPerEpoch(keras.callbacks.Callback):
    def __init__(self, layer):
        super().__init__()
        self.layer = layer
        self.per_epoch = {}

    def on_epoch_begin(self, epoch, logs=None):
        self.layer.counts.assign(keras.ops.zeros(1000))

    def on_epoch_end(self, epoch, logs=None):
        self.per_epoch[epoch] = keras.ops.convert_to_numpy(self.layer.counts)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param({}, marks=TENSORFLOW_ONLY),
        pytest.param({"poll_interval": 0.05, "storage": "disk"}, marks=TENSORFLOW_ONLY),
        {"strings_as": "index"},
        {"strings_as": "index", "poll_interval": 0.05, "storage": "disk"},
    ],
)
def test_a_functional_model_with_lookups_trains_on_mixed_files_as_they_arrive(folder, options):
    write_mixed_csv(folder / "a.csv", mixed_rows(0, 40))
    columns = {"id": "float32", "city": "string", "rooms": "int64", "area": "float32", "price": "float32"}
    data = kgd.GrowingDataCallback(
        folder, label="price", batch_size=16, settle_seconds=0, columns=columns, **options
    )
    data.poll()
    by_id = options.get("strings_as") == "index"
    inputs = {
        "id": keras.Input((), name="id"),
        "city": keras.Input((), name="city", dtype="int64" if by_id else "string"),
        "rooms": keras.Input((), name="rooms", dtype="int64"),
        "area": keras.Input((), name="area"),
    }
    seen = SeenIds()
    if by_id:  # Ids only grow: room for cities that arrive later.
        lookup = keras.layers.CategoryEncoding(num_tokens=8, output_mode="one_hot")
    else:
        lookup = keras.layers.StringLookup(vocabulary=data.vocabulary("city")[1:], output_mode="one_hot")
    area = keras.layers.Normalization(axis=None)
    area.adapt(np.concatenate([keras.ops.convert_to_numpy(x["area"]) for x, _ in data.dataset]))
    numbers = keras.ops.stack(
        [seen(inputs["id"]) * 0, keras.ops.cast(inputs["rooms"], "float32"), area(inputs["area"])], axis=1
    )
    hidden = keras.layers.Concatenate()([numbers, lookup(inputs["city"])])
    model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    model.compile("adam", "mse")
    counts = CountsPerEpoch(seen)
    # A new city arrives in epoch 1's file: StringLookup maps it to its unknown slot.
    drops = DropMixedFiles(folder, {0: [("b.csv", 40, 25, 4)], 1: [("c.csv", 65, 7, 4)]})
    history = kgd.GrowingDatasetTrainer(model, data).fit(epochs=3, callbacks=[drops, counts], verbose=0)
    assert history.history["rows"] == [40, 65, 72]
    for epoch, rows in enumerate([40, 65, 72]):
        np.testing.assert_array_equal(counts.per_epoch[epoch][:rows], 1)
        assert counts.per_epoch[epoch][rows:].sum() == 0
    assert data.vocabulary("city") == ["[UNK]", *CITIES[:4]]
    assert all(np.isfinite(history.history["loss"]))


def test_string_features_train_on_tensorflow_and_elsewhere_fail_pointing_at_ids(folder):
    write_mixed_csv(folder / "a.csv", mixed_rows(0, 20))
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=8, settle_seconds=0, features="dict")
    data.poll()
    inputs = {name: keras.Input((), name=name, dtype=data.dataset.element_spec[0][name].dtype.name)
              for name in data.feature_names}  # fmt: skip
    numbers = keras.ops.stack([inputs[name] for name in ("id", "rooms", "area")], axis=1)
    model = keras.Model(inputs, keras.layers.Dense(1)(numbers))  # The city string is not used.
    model.compile("sgd", "mse")
    trainer = kgd.GrowingDatasetTrainer(model, data)
    if keras.backend.backend() == "tensorflow":
        assert trainer.fit(epochs=1, verbose=0).history["rows"] == [20]
    else:
        with pytest.raises(ValueError, match=r"\['city'\] are served as tf.string.*strings_as=\"index\""):
            trainer.fit(epochs=1, verbose=0)


def test_feature_space_adapts_to_the_dataset_and_trains(folder):
    write_mixed_csv(folder / "a.csv", mixed_rows(0, 60))
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=20, settle_seconds=0)
    data.poll()
    assert data.schema == {
        "id": "float32", "city": "string", "rooms": "float32", "area": "float32", "price": "float32"
    }  # fmt: skip
    space = keras.utils.FeatureSpace(
        features={
            "city": keras.utils.FeatureSpace.string_categorical(),
            "rooms": keras.utils.FeatureSpace.float_normalized(),
            "area": keras.utils.FeatureSpace.float_normalized(),
        },
        output_mode="concat",
    )
    space.adapt(data.dataset.map(lambda x, y: {k: x[k] for k in ("city", "rooms", "area")}))
    encoded = data.dataset.map(lambda x, y: (space({k: x[k] for k in ("city", "rooms", "area")}), y))
    width = encoded.element_spec[0].shape[-1]
    model = keras.Sequential([keras.Input((width,)), keras.layers.Dense(1)])
    model.compile("adam", "mse")
    history = model.fit(encoded, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and width == 2 + 3 + 1  # Two numbers, 3 cities + unknown.


@pytest.mark.parametrize(
    "label, shape",
    [("price", [None]), (["price"], [None, 1]), (["price", "rooms"], [None, 2])],
)
def test_label_forms_follow_keras(folder, label, shape):
    write_mixed_csv(folder / "a.csv", mixed_rows(0, 30))
    data = kgd.GrowingDataCallback(folder, label=label, batch_size=10, settle_seconds=0, strings_as="index")
    data.poll()
    assert data.dataset.element_spec[1] == tf.TensorSpec(shape, tf.float32)
    x, y = next(iter(data.build_dataset(shuffle=False)))
    expected = np.array([[r[4], r[2]] for r in mixed_rows(0, 10)], "float32")
    np.testing.assert_array_equal(
        y.numpy().reshape(10, -1), expected[:, : 1 if isinstance(label, str) else len(label)]
    )
    assert x["city"].dtype == tf.int64
    units = 1 if len(shape) == 1 else shape[1]
    inputs = {
        name: keras.Input((), name=name, dtype=spec.dtype)
        for name, spec in data.dataset.element_spec[0].items()
    }
    numbers = keras.ops.stack([keras.ops.cast(inputs[n], "float32") for n in ("id", "area")], axis=1)
    output = keras.layers.Dense(units)(numbers)
    model = keras.Model(inputs, keras.ops.squeeze(output, 1) if len(shape) == 1 else output)
    model.compile("sgd", "mse")
    history = kgd.GrowingDatasetTrainer(model, data).fit(epochs=2, verbose=0)
    assert history.history["rows"] == [30, 30]


def test_a_two_output_model_trains_on_dict_labels(folder):
    write_mixed_csv(folder / "a.csv", mixed_rows(0, 30))
    label = {"cost": "price", "size": ["rooms", "area"]}
    data = kgd.GrowingDataCallback(folder, label=label, batch_size=10, settle_seconds=0, strings_as="index")
    data.poll()
    assert data.dataset.element_spec[1] == {
        "cost": tf.TensorSpec([None], tf.float32),
        "size": tf.TensorSpec([None, 2], tf.float32),
    }
    assert sorted(data.dataset.element_spec[0]) == ["city", "id"]
    inputs = {"id": keras.Input((), name="id"), "city": keras.Input((), name="city", dtype="int64")}
    city = keras.layers.Flatten()(keras.layers.Embedding(16, 2)(inputs["city"]))
    hidden = keras.layers.Concatenate()([keras.ops.expand_dims(inputs["id"], 1), city])
    outputs = {
        "cost": keras.ops.squeeze(keras.layers.Dense(1)(hidden), 1),
        "size": keras.layers.Dense(2)(hidden),
    }
    model = keras.Model(inputs, outputs)
    model.compile("sgd", {"cost": "mse", "size": "mse"})
    history = kgd.GrowingDatasetTrainer(model, data).fit(epochs=2, verbose=0)
    assert history.history["rows"] == [30, 30]
    assert {"cost_loss", "size_loss"} <= set(history.history)


def test_string_columns_served_as_ids_match_string_lookup(folder):
    write_mixed_csv(folder / "a.csv", mixed_rows(0, 12, cities=2))
    data = kgd.GrowingDataCallback(folder, label="city", batch_size=12, settle_seconds=0, strings_as="index")
    data.poll()
    write_mixed_csv(folder / "b.csv", mixed_rows(12, 12, cities=5), mtime=OLD + 1)
    data.poll()
    vocabulary = data.vocabulary("city")
    assert vocabulary == ["[UNK]", *CITIES[:5]]
    lookup = keras.layers.StringLookup(vocabulary=vocabulary[1:])
    ids = np.concatenate([y.numpy() for _, y in data.build_dataset(shuffle=False)])
    expected = [CITIES[r[0] % (2 if r[0] < 12 else 5)] for r in mixed_rows(0, 24)]
    np.testing.assert_array_equal(ids, lookup(tf.constant(expected)).numpy())
    with pytest.raises(
        ValueError, match=r"'price' is not a string column; the string columns are \['city'\]"
    ):
        data.vocabulary("price")


def test_matrix_features_need_numbers_and_int_columns_join_as_floats(folder):
    write_mixed_csv(folder / "a.csv", mixed_rows(0, 5))
    columns = {"id": "float32", "rooms": "int64", "area": "float32", "price": "float32"}
    data = kgd.GrowingDataCallback(
        folder, label="price", settle_seconds=0, columns=columns, features="matrix"
    )
    data.poll()
    x, _ = next(iter(data.build_dataset(shuffle=False)))
    np.testing.assert_array_equal(x.numpy(), [[r[0], r[2], r[3]] for r in mixed_rows(0, 5)])
    auto = kgd.GrowingDataCallback(folder, label="price", settle_seconds=0, columns=columns)
    auto.poll()
    assert sorted(auto.dataset.element_spec[0]) == ["area", "id", "rooms"]  # An int64 feature: a dict.
    inferred = kgd.GrowingDataCallback(folder, label="price", settle_seconds=0, features="matrix")
    inferred.poll()
    with pytest.raises(ValueError, match=r"features=\"matrix\" needs numeric features, but \['city'\]"):
        _ = inferred.dataset


def test_a_validation_folder_is_served_the_training_data_s_ids(folder, tmp_path):
    write_mixed_csv(folder / "a.csv", mixed_rows(0, 20, cities=2))  # Austin, Oslo.
    validation_folder = tmp_path / "validation"
    validation_folder.mkdir()
    rows = [(i, city, 1, 20.0, 3.0) for i, city in enumerate(["Lima", "Oslo", "Austin", "Lima"])]
    write_mixed_csv(validation_folder / "v.csv", rows)
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=10, settle_seconds=0, strings_as="index")
    validation = kgd.GrowingDataCallback(
        validation_folder, label="price", batch_size=10, settle_seconds=0, strings_as="index"
    )
    inputs = {name: keras.Input((), name=name) for name in ("id", "rooms", "area")}
    inputs["city"] = keras.Input((), name="city", dtype="int64")
    city = keras.layers.Embedding(8, 2)(inputs["city"])
    numbers = keras.ops.stack([inputs["rooms"], inputs["area"]], axis=1)
    model = keras.Model(
        inputs, keras.ops.squeeze(keras.layers.Dense(1)(keras.layers.Concatenate()([numbers, city])), 1)
    )
    model.compile("sgd", "mse")
    history = kgd.GrowingDatasetTrainer(model, data).fit(epochs=1, validation_data=validation, verbose=0)
    assert "val_loss" in history.history
    assert validation.vocabulary("city") == ["[UNK]", "Lima", "Oslo", "Austin"]  # Its own order...
    served = next(iter(validation.build_dataset(shuffle=False)))[0]["city"].numpy()
    assert served.tolist() == [0, 2, 1, 0]  # ...served as training's ids: Lima is unknown there.
    other = tmp_path / "other"
    other.mkdir()
    write_mixed_csv(other / "o.csv", [(1, "Oslo", "many", 20.0, 3.0)])
    mismatched = kgd.GrowingDataCallback(other, label="price", settle_seconds=0, strings_as="index")
    with pytest.raises(ValueError, match="The validation folder .* has schema .* declare columns= on both"):
        kgd.GrowingDatasetTrainer(model, data).fit(epochs=1, validation_data=mismatched, verbose=0)

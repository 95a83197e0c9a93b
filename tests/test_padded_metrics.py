"""Padding is invisible in every log: a padded run logs what the unpadded run on the same rows logs."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import TENSORFLOW_ONLY, BatchLogs, run_python, write_csv

import keras_growing_data as kgd

ROWS, VALIDATION_ROWS, BATCH = 90, 37, 16  # Last batches of 10 and 5 rows.
CLASSES = {0: 1.0, 1: 2.0, 2: 0.5}


def table(rows, seed):
    """Columns `a`, `b`, `price` (a regression target) and `kind` (a class id 0-2)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 2)).astype("float32")
    price = (x @ np.array([1.5, -2.0], "float32") + rng.normal(scale=0.1, size=rows)).astype("float32")
    kind = rng.integers(0, 3, size=rows).astype("float32")
    return x, price, kind


def write_table(folder, x, price, kind):
    with open(folder / "part.csv", "w") as f:
        f.write("a,b,price,kind\n")
        for (a, b), p, k in zip(x, price, kind, strict=True):
            f.write(f"{a:.9g},{b:.9g},{p:.9g},{k:.0f}\n")


def single_output_model():
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [keras.Input((2,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss="mse",
        metrics=["mae", keras.metrics.RootMeanSquaredError()],
        weighted_metrics=["mse"],
        jit_compile="auto",
    )
    return model


def two_output_model():
    keras.utils.set_random_seed(3)
    inputs = keras.Input((2,))
    hidden = keras.layers.Dense(8, activation="relu")(inputs)
    price = keras.layers.Dense(1, name="price")(hidden)
    kind = keras.layers.Dense(3, activation="softmax", name="kind")(hidden)
    model = keras.Model(inputs, {"price": price, "kind": kind})
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss={"price": "mse", "kind": "sparse_categorical_crossentropy"},
        loss_weights={"price": 1.0, "kind": 0.5},
        metrics={"price": ["mae"], "kind": ["sparse_categorical_accuracy"]},
        weighted_metrics={"kind": ["sparse_categorical_accuracy"]},
        jit_compile="auto",
    )
    return model


def class_model():
    keras.utils.set_random_seed(3)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy",
        metrics=["sparse_categorical_accuracy"],
        weighted_metrics=["sparse_categorical_crossentropy"],
        jit_compile="auto",
    )
    return model


# Model, label, the targets from (price, kind), class_weight.
CASES = {
    "one output": (single_output_model, "price", lambda price, kind: price, None),
    "two outputs": (
        two_output_model,
        {"price": "price", "kind": "kind"},
        lambda price, kind: {"price": price, "kind": kind},
        None,
    ),
    "class weights": (class_model, "kind", lambda price, kind: kind, CLASSES),
}


def assert_logs_equal(padded: dict, unpadded: dict):
    assert sorted(padded) == sorted(unpadded)
    for key, values in unpadded.items():
        np.testing.assert_allclose(padded[key], values, rtol=2e-5, atol=1e-7, err_msg=key)


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("validation", ["arrays with sample weights", "dataset", "folder"])
def test_a_padded_run_logs_what_the_unpadded_run_logs(folder, tmp_path, case, validation):
    make_model, label, targets, class_weight = CASES[case]
    labels = [label] if isinstance(label, str) else list(label.values())
    x, price, kind = table(ROWS, seed=0)
    write_table(folder, x, price, kind)
    vx, vprice, vkind = table(VALIDATION_ROWS, seed=1)
    vy = targets(vprice, vkind)
    weights = np.linspace(0.0, 2.0, VALIDATION_ROWS).astype("float32")  # Row 0 weighs 0, as a copy does.
    columns = dict.fromkeys(["a", "b", *labels], "float32")
    (tmp_path / "validation").mkdir()
    write_table(tmp_path / "validation", vx, vprice, vkind)

    def run(pad_last_batch):
        if validation == "arrays with sample weights":
            validation_data = (vx, vy, weights)
        elif validation == "dataset":
            validation_data = tf.data.Dataset.from_tensor_slices((vx, vy)).batch(BATCH)
        else:
            validation_data = kgd.GrowingDataCallback(
                tmp_path / "validation",
                label=label,
                batch_size=BATCH,
                settle_seconds=0,
                columns=columns,
                pad_last_batch=pad_last_batch,
            )
        model, batches = make_model(), BatchLogs()
        data = kgd.GrowingDataCallback(
            folder,
            label=label,
            batch_size=BATCH,
            shuffle=False,
            settle_seconds=0,
            columns=columns,
            pad_last_batch=pad_last_batch,
        )
        history = kgd.GrowingDatasetTrainer(model, data).fit(
            epochs=2,
            verbose=0,
            class_weight=class_weight,
            validation_data=validation_data,
            callbacks=[batches],
        )
        return model, history.history, batches.logs

    reference, expected, reference_batches = run(pad_last_batch=False)
    model, history, batches = run(pad_last_batch=True)

    assert history["rows"] == [ROWS] * 2
    assert_logs_equal(history, expected)
    assert len(batches) == len(reference_batches) == 2 * 6
    for padded_logs, logs in zip(batches, reference_batches, strict=True):
        assert_logs_equal(padded_logs, logs)
    for padded_weight, weight in zip(model.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(padded_weight, weight, rtol=1e-5, atol=1e-6)
    # After the fit, evaluate and predict are Keras's own again: the same on both models.
    np.testing.assert_allclose(
        model.evaluate(vx, vy, batch_size=BATCH, verbose=0),
        reference.evaluate(vx, vy, batch_size=BATCH, verbose=0),
        rtol=2e-5,
    )
    for got, want in zip(
        keras.tree.flatten(model.predict(vx, batch_size=BATCH, verbose=0)),
        keras.tree.flatten(reference.predict(vx, batch_size=BATCH, verbose=0)),
        strict=True,
    ):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_the_most_common_call_trains_with_metrics_and_validation_arrays(folder):
    # On JAX every compiled model pads; this crashed with IndexError in 0.x.
    x, price, kind = table(ROWS, seed=0)
    write_table(folder, x, price, kind)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", metrics=["mae"])
    data = kgd.GrowingDataCallback(
        folder,
        label="price",
        batch_size=BATCH,
        settle_seconds=0,
        columns=dict.fromkeys("ab", "float32") | {"price": "float32"},
    )
    history = kgd.GrowingDatasetTrainer(model, data).fit(
        epochs=2, verbose=0, validation_data=(x[:20], price[:20])
    )
    assert sorted(history.history) == ["files", "loss", "mae", "rows", "val_loss", "val_mae"]
    assert history.history["rows"] == [ROWS, ROWS]


class ConstantPenalty(keras.layers.Layer):
    """Adds 0.25 to the loss of every batch, as a regularizer adds its term."""

    def call(self, x):
        self.add_loss(keras.ops.convert_to_tensor(0.25))
        return x


def two_output_model_with_loss_metrics():
    """`two_output_model` with a penalty, logging each output's loss as a metric too: a mean over rows."""
    keras.utils.set_random_seed(3)
    inputs = keras.Input((2,))
    hidden = ConstantPenalty()(keras.layers.Dense(8, activation="relu")(inputs))
    price = keras.layers.Dense(1, name="price")(hidden)
    kind = keras.layers.Dense(3, activation="softmax", name="kind")(hidden)
    model = keras.Model(inputs, {"price": price, "kind": kind})
    model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss={"price": "mse", "kind": "sparse_categorical_crossentropy"},
        loss_weights={"price": 1.0, "kind": 0.5},
        metrics={
            "price": [keras.metrics.MeanSquaredError(name="mse")],
            "kind": [keras.metrics.SparseCategoricalCrossentropy(name="crossentropy")],
        },
        jit_compile="auto",
    )
    return model


@pytest.mark.parametrize("pad_last_batch", [False, True])
def test_the_logged_loss_is_the_sum_of_the_output_losses_as_in_model_fit(folder, pad_last_batch):
    x, price, kind = table(ROWS, seed=0)
    write_table(folder, x, price, kind)
    vx, vprice, vkind = table(VALIDATION_ROWS, seed=1)
    validation = (vx, {"price": vprice, "kind": vkind})
    data = kgd.GrowingDataCallback(
        folder,
        label={"price": "price", "kind": "kind"},
        batch_size=BATCH,
        shuffle=False,
        settle_seconds=0,
        columns=dict.fromkeys(["a", "b", "price", "kind"], "float32"),
        pad_last_batch=pad_last_batch,
    )
    logs = (
        kgd.GrowingDatasetTrainer(two_output_model_with_loss_metrics(), data)
        .fit(epochs=2, verbose=0, validation_data=validation)
        .history
    )
    expected = (
        two_output_model_with_loss_metrics()
        .fit(
            x,
            {"price": price, "kind": kind},
            batch_size=BATCH,
            epochs=2,
            shuffle=False,
            verbose=0,
            validation_data=validation,
        )
        .history
    )

    for prefix in ("", "val_"):
        np.testing.assert_allclose(logs[f"{prefix}loss"], expected[f"{prefix}loss"], rtol=2e-5)
        # Each output's loss is its mean over the rows, as its metric is (and `model.fit` logs
        # it on JAX and PyTorch; Keras 3.15.1 on TensorFlow averages it over batches instead).
        np.testing.assert_allclose(logs[f"{prefix}price_loss"], expected[f"{prefix}price_mse"], rtol=2e-5)
        np.testing.assert_allclose(
            logs[f"{prefix}kind_loss"], expected[f"{prefix}kind_crossentropy"], rtol=2e-5
        )
        outputs = np.add(logs[f"{prefix}price_loss"], np.multiply(0.5, logs[f"{prefix}kind_loss"]))
        np.testing.assert_allclose(logs[f"{prefix}loss"], outputs + 0.25, rtol=2e-5)


class EvaluateEachEpoch(keras.callbacks.Callback):
    """Calls `model.evaluate` on arrays at each epoch's end, as a user's callback may."""

    def __init__(self, x, y):
        super().__init__()
        self.x, self.y = x, y
        self.results = []

    def on_epoch_end(self, epoch, logs=None):
        self.results.append(self.model.evaluate(self.x, self.y, batch_size=BATCH, verbose=0))


def test_a_callback_s_own_evaluate_during_a_padded_fit_is_keras_s(folder, tmp_path):
    x, price, kind = table(ROWS, seed=0)
    write_table(folder, x, price, kind)
    (tmp_path / "validation").mkdir()
    vx, vprice, vkind = table(VALIDATION_ROWS, seed=1)
    write_table(tmp_path / "validation", vx, vprice, vkind)
    columns = dict.fromkeys(["a", "b", "price"], "float32")

    def run(pad_last_batch):
        evaluations = EvaluateEachEpoch(vx, vprice)
        options = {"label": "price", "batch_size": BATCH, "settle_seconds": 0, "columns": columns}
        data = kgd.GrowingDataCallback(folder, shuffle=False, pad_last_batch=pad_last_batch, **options)
        validation = kgd.GrowingDataCallback(
            tmp_path / "validation", pad_last_batch=pad_last_batch, **options
        )
        kgd.GrowingDatasetTrainer(single_output_model(), data).fit(
            epochs=2, verbose=0, validation_data=validation, callbacks=[evaluations]
        )
        return evaluations.results

    np.testing.assert_allclose(run(pad_last_batch=True), run(pad_last_batch=False), rtol=2e-5)


def test_a_summed_loss_is_not_padded_as_padding_would_change_its_training(folder):
    x, price, kind = table(ROWS, seed=0)
    write_table(folder, x, price, kind)
    columns = dict.fromkeys(["a", "b", "price"], "float32")

    def model():
        keras.utils.set_random_seed(3)
        m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        m.compile("sgd", keras.losses.MeanSquaredError(reduction="sum"), jit_compile=True)
        return m

    forced = kgd.GrowingDataCallback(
        folder, label="price", settle_seconds=0, columns=columns, pad_last_batch=True
    )
    with pytest.raises(ValueError, match="reduction='sum'.*Use pad_last_batch=False"):
        kgd.GrowingDatasetTrainer(model(), forced).fit(epochs=1, verbose=0)
    data = kgd.GrowingDataCallback(
        folder, label="price", batch_size=BATCH, shuffle=False, settle_seconds=0, columns=columns
    )
    trainer = kgd.GrowingDatasetTrainer(model(), data)
    with data.serving(trainer.model, None):
        assert not data.pads  # "auto" with a compiled model pads, but not a summed loss.
    history = trainer.fit(epochs=1, verbose=0)
    reference = model()
    expected = reference.fit(x, price, batch_size=BATCH, epochs=1, shuffle=False, verbose=0)
    np.testing.assert_allclose(history.history["loss"], expected.history["loss"], rtol=1e-6)


REPLICAS_RUN = """
import json
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
import keras_growing_data as kgd

strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse", jit_compile=True)
result = {}
for pad in (True, "auto"):
    options = {"label": "price", "batch_size": 8, "settle_seconds": 0}
    data = kgd.GrowingDataCallback(sys.argv[1], pad_last_batch=pad, **options)
    data.poll()
    try:
        with data.serving(model, None):
            result[str(pad)] = data.pads
    except ValueError as e:
        result[str(pad)] = str(e)
print(json.dumps(result))
"""


@TENSORFLOW_ONLY
def test_several_tf_distribute_replicas_are_not_padded(folder, tmp_path):
    write_csv(folder / "a.csv", 20)
    run = run_python(tmp_path, REPLICAS_RUN, folder)
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    result = json.loads(run.stdout.decode().strip().splitlines()[-1])
    assert result["auto"] is False
    assert "2 replicas of a tf.distribute strategy" in result["True"]

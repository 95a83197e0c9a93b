"""ResetBestOnGrowth: EarlyStopping and ModelCheckpoint compare val_ values of the same validation rows."""

import keras
import numpy as np
import pytest
from helpers import write_csv

import keras_growing_data as kgd

JUMP_EPOCH = 4  # The epoch whose validation first holds the hard file.
EPOCHS = 9


def line_rows(xs, noise=0.0):
    """Rows `(x, y)` on the line y = 2x + 1, `noise` above and below it in turn."""
    return [(x, 2 * x + 1 + noise * (-1) ** i) for i, x in enumerate(xs)]


class Weights(keras.callbacks.Callback):
    """The model's weights at the end of each epoch."""

    def __init__(self):
        super().__init__()
        self.at = {}

    def on_epoch_end(self, epoch, logs=None):
        self.at[epoch] = self.model.get_weights()


class FileLands(keras.callbacks.Callback):
    """Writes a validation file at the end of an epoch, so that the next epoch validates on it too."""

    def __init__(self, path, rows, after_epoch):
        super().__init__()
        self.path, self.rows, self.after_epoch = path, rows, after_epoch

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.after_epoch:
            write_csv(self.path, self.rows, header=("x", "y"))


def train(tmp_path, name, reset, grows=True):
    """Trains on a line; a far, noisy validation file lands before JUMP_EPOCH (if `grows`)."""
    run = tmp_path / name
    (run / "incoming").mkdir(parents=True)
    (run / "validation").mkdir()
    write_csv(run / "incoming" / "a.csv", line_rows(np.linspace(0, 5, 64).round(3)), header=("x", "y"))
    write_csv(run / "validation" / "near.csv", line_rows(np.linspace(0, 1, 40).round(3)), header=("x", "y"))
    data = kgd.GrowingDataCallback(str(run / "incoming"), label="y", batch_size=16, seed=1)
    validation = kgd.GrowingDataCallback(str(run / "validation"), label="y", batch_size=16)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
    stop = keras.callbacks.EarlyStopping(patience=100, restore_best_weights=True)
    checkpoint = keras.callbacks.ModelCheckpoint(str(run / "best.keras"), save_best_only=True)
    weights, lines = Weights(), []
    far_rows = line_rows(np.linspace(4, 5, 40).round(3), noise=1)
    far = FileLands(run / "validation" / "far.csv", far_rows, after_epoch=JUMP_EPOCH - 1)
    callbacks = [weights, stop, checkpoint, *([far] if grows else [])]
    if reset:  # Last: the reset works wherever it stands in the list.
        callbacks.append(kgd.ResetBestOnGrowth(validation, [stop, checkpoint], print_fn=lines.append))
    history = kgd.GrowingDatasetTrainer(model, data).fit(
        epochs=EPOCHS, validation_data=validation, callbacks=callbacks, verbose=0
    )
    saved = keras.saving.load_model(str(run / "best.keras")).get_weights()
    return history.history["val_loss"], stop, weights.at, model.get_weights(), saved, lines


def assert_weights_equal(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_early_stopping_and_checkpoint_keep_weights_from_after_the_validation_grew(tmp_path):
    # Baseline, plain Keras: the best val_loss stays the one measured on the near file alone, so
    # both callbacks keep the weights of an epoch before the far file landed.
    val_loss, stop, at, final, saved, _ = train(tmp_path, "plain", reset=False)
    before, after = val_loss[:JUMP_EPOCH], val_loss[JUMP_EPOCH:]
    assert min(after) > min(before)  # The far file's noise: no later epoch beats the best before it.
    assert stop.best_epoch == int(np.argmin(before)) < JUMP_EPOCH
    assert_weights_equal(final, at[stop.best_epoch])
    assert_weights_equal(saved, at[stop.best_epoch])

    val_loss, stop, at, final, saved, lines = train(tmp_path, "reset", reset=True)
    after = val_loss[JUMP_EPOCH:]
    assert min(after) > min(val_loss[:JUMP_EPOCH])
    assert stop.best_epoch == JUMP_EPOCH + int(np.argmin(after))
    assert_weights_equal(final, at[stop.best_epoch])
    assert_weights_equal(saved, at[stop.best_epoch])
    assert lines == [
        f"Epoch {JUMP_EPOCH + 1}: the validation rows changed (40 -> 80 rows): "
        "EarlyStopping and ModelCheckpoint start over."
    ]


def test_a_validation_folder_that_does_not_change_keeps_keras_behaviour(tmp_path):
    plain = train(tmp_path, "plain", reset=False, grows=False)
    reset = train(tmp_path, "reset", reset=True, grows=False)
    assert plain[0] == reset[0]
    assert plain[1].best_epoch == reset[1].best_epoch
    assert_weights_equal(plain[3], reset[3])
    assert_weights_equal(plain[4], reset[4])
    assert reset[5] == []


def test_arguments_are_checked(folder):
    write_csv(folder / "a.csv", 8)
    validation = kgd.GrowingDataCallback(str(folder), label="price")
    stop = keras.callbacks.EarlyStopping()
    with pytest.raises(TypeError, match="validation must be the GrowingDataCallback of a validation folder"):
        kgd.ResetBestOnGrowth(stop, [stop])
    with pytest.raises(TypeError, match="callbacks must be a list of callbacks, got EarlyStopping"):
        kgd.ResetBestOnGrowth(validation, stop)
    with pytest.raises(ValueError, match="callbacks is empty"):
        kgd.ResetBestOnGrowth(validation, [])
    with pytest.raises(
        TypeError, match="may hold EarlyStopping, ModelCheckpoint and ReduceLROnPlateau, got T"
    ):
        kgd.ResetBestOnGrowth(validation, [keras.callbacks.TerminateOnNaN()])
    with pytest.raises(ValueError, match="EarlyStopping monitors 'loss', which is not measured on the valid"):
        kgd.ResetBestOnGrowth(validation, [keras.callbacks.EarlyStopping(monitor="loss")])
    with pytest.raises(TypeError, match="print_fn must be callable"):
        kgd.ResetBestOnGrowth(validation, [stop], print_fn="log")


def test_the_training_folder_is_refused_at_fit(tmp_path, folder):
    write_csv(folder / "a.csv", 8)
    (tmp_path / "validation").mkdir()
    write_csv(tmp_path / "validation" / "v.csv", 8)
    data = kgd.GrowingDataCallback(str(folder), label="price")
    validation = kgd.GrowingDataCallback(str(tmp_path / "validation"), label="price")
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    stop = keras.callbacks.EarlyStopping()
    with pytest.raises(ValueError, match="ResetBestOnGrowth was given the training folder's callback"):
        kgd.GrowingDatasetTrainer(model, data).fit(
            epochs=1, validation_data=validation, callbacks=[stop, kgd.ResetBestOnGrowth(data, [stop])]
        )

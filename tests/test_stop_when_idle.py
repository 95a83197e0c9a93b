import time

import keras
import pytest
from helpers import id_rows, write_csv

import keras_growing_data as kgd


class Drop(keras.callbacks.Callback):
    """Lands a new file at the end of each of `epochs`."""

    def __init__(self, folder, epochs):
        super().__init__()
        self.folder = folder
        self.epochs = epochs

    def on_epoch_end(self, epoch, logs=None):
        if epoch in self.epochs:
            write_csv(self.folder / f"n{epoch}.csv", id_rows(10 + epoch * 5, 5))


def fit(folder, stop, epochs, drop_at=(0, 1), window=None):
    write_csv(folder / "a.csv", 10)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    data = kgd.GrowingDataCallback(folder, label="price", settle_seconds=0, window=window)
    trainer = kgd.GrowingDatasetTrainer(model, data)
    return trainer.fit(epochs=epochs, callbacks=[Drop(folder, drop_at), stop], verbose=0)


def test_stop_when_idle_counts_epochs_without_new_rows(folder):
    said = []
    stop = kgd.StopWhenIdle(patience=2, print_fn=said.append)
    history = fit(folder, stop, epochs=20)
    assert history.history["rows"] == [10, 15, 20, 20, 20]
    assert stop.stopped_epoch == 4
    assert said == ["No new rows for 2 epochs: stopping after epoch 5."]


def test_with_a_window_a_file_that_joins_is_not_idle_though_the_rows_stay_level(folder):
    said = []
    stop = kgd.StopWhenIdle(patience=2, print_fn=said.append)
    history = fit(folder, stop, epochs=20, drop_at=(0, 1, 2), window=kgd.Window(rows=5))
    assert history.history["rows"] == [10, 5, 5, 5, 5, 5]
    assert history.history["files_left"] == [0, 1, 2, 3, 3, 3]
    assert stop.stopped_epoch == 5


def test_stop_when_idle_measures_seconds_since_the_last_growth(folder):
    said = []
    stop = kgd.StopWhenIdle(seconds=1.0, print_fn=said.append)
    start = time.monotonic()
    history = fit(folder, stop, epochs=100_000)
    assert time.monotonic() - start >= 1.0
    rows = history.history["rows"]
    assert rows[:3] == [10, 15, 20] and set(rows[3:]) == {20}, "stops only once the files stopped"
    assert stop.stopped_epoch == len(rows) - 1 < 100_000 - 1
    [sentence] = said
    seconds = float(sentence.removeprefix("No new rows for ").split(" s:")[0])
    assert seconds >= 1.0
    assert sentence.endswith(f" s: stopping after epoch {len(rows)}.")


def test_stop_when_idle_with_epochs_and_seconds_waits_for_both(folder):
    stop = kgd.StopWhenIdle(patience=3, seconds=0.0, print_fn=lambda line: None)
    history = fit(folder, stop, epochs=50)
    assert history.history["rows"] == [10, 15, 20, 20, 20, 20]
    stop = kgd.StopWhenIdle(patience=1, seconds=0.5, print_fn=lambda line: None)
    start = time.monotonic()
    fit(folder, stop, epochs=100_000, drop_at=())
    assert time.monotonic() - start >= 0.5


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({}, ValueError, "needs patience"),
        ({"patience": 0}, ValueError, "patience must be >= 1, got 0"),
        ({"patience": 1.5}, TypeError, "patience must be an integer"),
        ({"seconds": -1}, ValueError, "seconds must be >= 0, got -1"),
        ({"seconds": "10"}, TypeError, "seconds must be a number"),
    ],
)
def test_stop_when_idle_checks_its_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        kgd.StopWhenIdle(**kwargs)

import csv
import glob
import logging
import os

import keras
import pytest
import tensorflow as tf
from helpers import id_rows, write_csv

import keras_growing_data as kgd
from keras_growing_data.cli.main import main


class DropAfterEpoch(keras.callbacks.Callback):
    """Writes `b.csv` (12 rows) at the end of epoch 0."""

    def __init__(self, folder):
        super().__init__()
        self.folder = folder

    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            write_csv(self.folder / "b.csv", id_rows(20, 12))


def small_model():
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def scalars(event_dir):
    """`{tag: [(step, value), ...]}` of the scalar summaries in one writer's folder."""
    found = {}
    for path in sorted(glob.glob(os.path.join(event_dir, "events.out.tfevents.*"))):
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                if value.metadata.plugin_data.plugin_name == "scalars":
                    number = float(tf.make_ndarray(value.tensor))
                    found.setdefault(value.tag, []).append((event.step, number))
    return found


def test_accepted_files_are_logged_at_info_and_rejected_ones_at_warning(folder, caplog):
    good = write_csv(folder / "a.csv", 10)
    bad = write_csv(folder / "bad.csv", [(1, "n/a", 3)])
    data = kgd.GrowingDataCallback(folder, label="price", settle_seconds=0)
    with caplog.at_level(logging.INFO, logger="keras_growing_data"):
        data.poll()
    records = [(r.name, r.levelname, r.getMessage()) for r in caplog.records]
    assert records[0] == (
        "keras_growing_data",
        "INFO",
        f"Schema inferred from {good}: {{'id': 'float32', 'x': 'float32', 'price': 'float32'}}",
    )
    assert records[1][:2] == ("keras_growing_data", "INFO")
    assert records[1][2].startswith(f"Accepted {good}: 10 rows")
    assert records[2] == (
        "keras_growing_data",
        "WARNING",
        f"Rejected {bad}: line 2, column 'x': missing value 'n/a', and the column has no default",
    )
    assert len(records) == 3


def test_tensorboard_and_csv_logger_record_rows_and_files(folder, tmp_path):
    pytest.importorskip("tensorboard")
    write_csv(folder / "a.csv", 20)
    val = tmp_path / "val"
    val.mkdir()
    write_csv(val / "v.csv", 8)
    logdir = tmp_path / "logs"
    csv_path = tmp_path / "log.csv"
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=8, settle_seconds=0)
    validation = kgd.GrowingDataCallback(val, label="price", settle_seconds=0)
    history = kgd.GrowingDatasetTrainer(small_model(), data).fit(
        epochs=3,
        callbacks=[
            DropAfterEpoch(folder),
            keras.callbacks.TensorBoard(str(logdir), write_graph=False),
            keras.callbacks.CSVLogger(str(csv_path)),
        ],
        validation_data=validation,
        verbose=0,
    )
    assert history.history["rows"] == [20, 32, 32]

    train = scalars(logdir / "train")
    assert train["epoch_rows"] == [(0, 20.0), (1, 32.0), (2, 32.0)]
    assert train["epoch_files"] == [(0, 1.0), (1, 2.0), (2, 2.0)]
    assert [step for step, _ in train["epoch_loss"]] == [0, 1, 2]
    validation_scalars = scalars(logdir / "validation")
    assert [step for step, _ in validation_scalars["epoch_loss"]] == [0, 1, 2]
    assert "epoch_rows" not in validation_scalars

    with open(csv_path) as f:
        logged = list(csv.DictReader(f))
    assert [(row["epoch"], row["rows"], row["files"]) for row in logged] == [
        ("0", "20", "1"),
        ("1", "32", "2"),
        ("2", "32", "2"),
    ]


def test_command_line_shows_rejected_files_as_warnings_on_stderr(folder, capsys):
    write_csv(folder / "a.csv", 16)
    write_csv(folder / "bad.csv", [(1, 2)])
    args = ["train", str(folder), "--label", "price", "--epochs", "1", "--verbose", "0"]
    assert main(args) == 0
    _, err = capsys.readouterr()
    assert "WARNING: Rejected bad.csv: line 2: expected 3 fields, found 2\n" in err
    assert "INFO" not in err

import os

import numpy as np
import pytest
from helpers import id_rows, mixed_rows, write_csv, write_mixed_csv

from keras_growing_data.demo.data import digits_data, synthetic_data
from keras_growing_data.demo.producer import write_csv_file
from keras_growing_data.demo.run_demo import run_demo
from keras_growing_data.training.summary_table import summary_table

PNG = b"\x89PNG\r\n\x1a\n"


def test_demo_trains_while_the_producer_drops_files(tmp_path):
    pytest.importorskip("matplotlib")
    lines = []
    out = tmp_path / "plot.png"
    history = run_demo(epochs=4, out=str(out), source="synthetic", files=3, verbose=0, print_fn=lines.append)
    assert history.history["rows"] == [600, 1200, 1800, 1800]
    assert history.history["files"] == [1, 2, 3, 3]
    assert len(history.history["val_loss"]) == 4
    assert [line for line in lines if line.startswith("growth")] == [
        "growth at epoch 1: +1 file, +600 rows -> 600 rows from 1 file",
        "growth at epoch 2: +1 file, +600 rows -> 1200 rows from 2 files",
        "growth at epoch 3: +1 file, +600 rows -> 1800 rows from 3 files",
    ]
    assert lines[0] == (
        "Demo data: synthetic price = x . w + noise, 1800 training rows in 3 files, 300 validation rows."
    )
    assert lines[2].startswith("Label 'price' holds real values") and "regression" in lines[2]
    assert "Trained 4 epochs; the data grew to 1800 rows from 3 files." in lines
    table = lines[lines.index("Trained 4 epochs; the data grew to 1800 rows from 3 files.") + 1].splitlines()
    assert table[0].split() == ["epoch", "rows", "files", "loss", "val_loss"]
    assert [row.split()[:3] for row in table[1:]] == [
        ["1", "600", "1"],
        ["2", "1200", "2"],
        ["3", "1800", "3"],
        ["4", "1800", "3"],
    ]
    assert lines[-1] == f"Plot of loss and dataset size per epoch: {out}"
    assert out.read_bytes()[:8] == PNG
    # The regression learns: the validation loss falls toward the noise floor (0.01).
    assert history.history["val_loss"][-1] < history.history["val_loss"][0] / 2


def test_digits_demo_is_a_classification_on_the_bundled_data(tmp_path):
    pytest.importorskip("sklearn")
    lines = []
    history = run_demo(epochs=2, out=None, source="digits", files=2, verbose=0, print_fn=lines.append)
    assert history.history["rows"] == [750, 1500]
    assert lines[0] == "Demo data: scikit-learn digits, 1500 training rows in 2 files, 297 validation rows."
    assert lines[2] == (
        "Label 'digit' holds integers 0..9: classification into 10 classes "
        "(softmax output, sparse categorical cross-entropy)."
    )
    assert history.history["val_accuracy"][-1] > 0.5
    assert not any(line.startswith("Plot") for line in lines)


def test_demo_watches_a_given_folder_without_a_producer(folder):
    write_csv(folder / "a.csv", [(i, i % 3, 2 * (i % 3)) for i in range(40)])
    lines = []
    history = run_demo(
        epochs=2, out=None, folder=str(folder), label="price", verbose=0, print_fn=lines.append
    )
    assert lines[0] == f"Watching {folder} for CSV files with label column 'price'."
    assert history.history["rows"] == [40, 40]
    assert history.history["files"] == [1, 1]
    assert "val_loss" not in history.history
    assert list(os.listdir(folder)) == ["a.csv"]


def test_demo_trains_on_a_given_folder_with_string_columns(folder):
    write_mixed_csv(folder / "a.csv", mixed_rows(0, 60, cities=4))
    lines = []
    history = run_demo(
        epochs=2, out=None, folder=str(folder), label="price", verbose=0, print_fn=lines.append
    )
    assert history.history["rows"] == [60, 60]
    assert lines[1].startswith("Label 'price' holds real values") and "regression" in lines[1]
    lines.clear()
    history = run_demo(epochs=1, out=None, folder=str(folder), label="city", verbose=0, print_fn=lines.append)
    assert history.history["rows"] == [60]
    assert lines[1].startswith("Label 'city' holds 4 strings so far: classification into 21 class ids")


def test_demo_on_an_empty_folder_says_so_after_waiting(folder):
    lines = []
    with pytest.raises(ValueError, match="No training rows in .*incoming"):
        run_demo(folder=str(folder), label="price", wait_for_data=0.3, print_fn=lines.append)
    assert lines[-1] == f"Waiting up to 0.3 s for the first file in {folder}..."


def test_synthetic_data_follows_the_documented_relation():
    data = synthetic_data(rows=1000, validation_rows=200, seed=3)
    assert data.columns == ("x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "price")
    assert data.train.shape == (1000, 9) and data.validation.shape == (200, 9)
    table = np.concatenate([data.train, data.validation])
    residual = table[:, 8] - table[:, :8] @ np.linspace(-1, 1, 8)
    assert 0.09 < residual.std() < 0.11
    assert abs(residual.mean()) < 0.01
    np.testing.assert_array_equal(synthetic_data(1000, 200, seed=3).train, data.train)


def test_digits_data_are_read_from_the_installed_package():
    pytest.importorskip("sklearn")
    data = digits_data()
    assert data.train.shape == (1500, 65) and data.validation.shape == (297, 65)
    assert data.columns[0] == "pixel_0_0" and data.columns[-1] == "digit"
    labels = np.concatenate([data.train[:, -1], data.validation[:, -1]])
    np.testing.assert_array_equal(np.bincount(labels.astype(int)).sum(), 1797)
    assert set(labels) == set(range(10))


def test_write_csv_file_writes_a_header_and_leaves_no_partial_file(tmp_path):
    path = str(tmp_path / "p.csv")
    write_csv_file(path, ("a", "b"), np.array([[1.5, 2], [3, 4.25]]))
    assert open(path).read() == "a,b\n1.5,2\n3,4.25\n"
    assert os.listdir(tmp_path) == ["p.csv"]


def test_summary_table_is_aligned_with_one_line_per_epoch():
    logs = {"rows": [250, 500], "files": [1, 2], "loss": [0.9, 0.5], "val_loss": [1.25, 0.00012]}
    assert summary_table(logs) == (
        "epoch  rows  files    loss    val_loss\n"
        "    1   250      1  0.9000      1.2500\n"
        "    2   500      2  0.5000  1.2000e-04"
    )
    assert summary_table(logs, columns=["rows"]) == "epoch  rows\n    1   250\n    2   500"


def test_growth_printer_reports_what_each_epoch_trains_on(folder):
    import keras

    import keras_growing_data as kgd
    from keras_growing_data.training.growth_printer import GrowthPrinter

    class LateFile(keras.callbacks.Callback):
        """Lands a file, and polls it in, after epoch 0's data was fixed (as a background poll may)."""

        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 0:
                write_csv(folder / "b.csv", id_rows(10, 5))
                data.poll()

    write_csv(folder / "a.csv", 10)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    data = kgd.GrowingDataCallback(folder, label="price", settle_seconds=0)
    lines = []
    history = kgd.GrowingDatasetTrainer(model, data).fit(
        epochs=3, callbacks=[LateFile(), GrowthPrinter(data, lines.append)], verbose=0
    )
    assert history.history["rows"] == [10, 15, 15]
    assert lines == [
        "growth at epoch 1: +1 file, +10 rows -> 10 rows from 1 file",
        "growth at epoch 2: +1 file, +5 rows -> 15 rows from 2 files",
    ]

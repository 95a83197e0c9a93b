import keras
from helpers import OLD, id_rows, write_csv

import keras_growing_data as kgd
from keras_growing_data.sources.lineage import Lineage


def model():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_rows_restored_from_state_dir_are_said_once_and_are_not_growth(folder, tmp_path):
    state = tmp_path / "state"
    for i in range(3):
        write_csv(folder / f"{i}.csv", id_rows(10 * i, 10), mtime=OLD + i)
    first = kgd.GrowingDataCallback(folder, label="price", settle_seconds=0, state_dir=state)
    kgd.GrowingDatasetTrainer(model(), first).fit(epochs=2, verbose=0)
    write_csv(folder / "3.csv", id_rows(30, 5), mtime=OLD + 3)  # Lands while nothing runs.
    data = kgd.GrowingDataCallback(folder, label="price", settle_seconds=0, state_dir=state)
    printed = []
    history = kgd.GrowingDatasetTrainer(model(), data).fit(
        epochs=2, callbacks=[kgd.GrowthPrinter(data, printed.append)], verbose=0
    )
    assert history.history["rows"] == [35, 35]
    assert printed == [
        f"restored 3 files, 30 rows from {state}",
        "growth at epoch 1: +1 file, +5 rows -> 35 rows from 4 files",
    ]


def test_a_window_restored_says_the_files_that_left(folder, tmp_path):
    state = tmp_path / "state"
    for i in range(3):
        write_csv(folder / f"{i}.csv", id_rows(10 * i, 10), mtime=OLD + i)
    options = dict(label="price", settle_seconds=0, state_dir=state, window=kgd.Window(files=2))
    kgd.GrowingDatasetTrainer(model(), kgd.GrowingDataCallback(folder, **options)).fit(epochs=1, verbose=0)
    data = kgd.GrowingDataCallback(folder, **options)
    printed = []
    kgd.GrowingDatasetTrainer(model(), data).fit(
        epochs=1, callbacks=[kgd.GrowthPrinter(data, printed.append)]
    )
    assert printed == [f"restored 2 files, 1 file left, 20 rows from {state}"]


class CountedLineage(Lineage):
    """A `Lineage` that counts the copies taken of it (`GrowingDataCallback.lineage` takes one)."""

    copies = 0

    def snapshot(self):
        CountedLineage.copies += 1
        return super().snapshot()


def test_the_printer_takes_no_copy_of_the_lineage_an_epoch(folder):
    # A copy of every epoch's counts at each epoch: the run's epochs squared.
    write_csv(folder / "a.csv", 10)
    data = kgd.GrowingDataCallback(folder, label="price", settle_seconds=0)
    data.ingest.lineage = CountedLineage(data.ingest.files.paths, data.ingest.directory)
    printed = []
    kgd.GrowingDatasetTrainer(model(), data).fit(
        epochs=3, callbacks=[kgd.GrowthPrinter(data, printed.append)], verbose=0
    )
    assert printed == ["growth at epoch 1: +1 file, +10 rows -> 10 rows from 1 file"]
    assert CountedLineage.copies == 0

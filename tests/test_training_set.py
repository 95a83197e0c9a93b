import keras
import numpy as np
from helpers import counting_model, id_rows, write_csv

import keras_growing_data as kgd
from keras_growing_data.sources.keep_everything import KeepEverything
from keras_growing_data.sources.records import AcceptedFile
from keras_growing_data.sources.training_set import FilesInTraining, TrainingSetPolicy


class NewestTwoFiles(TrainingSetPolicy):
    """A policy written against the interface alone: the two newest files train."""

    keeps_every_file = False

    def files_leaving(self, files):
        return range(max(0, len(files) - 2))


class Files:
    """Accepted files of 5 rows, written 10 ns apart."""

    def __init__(self, count):
        self.records = {f"{i}.csv": AcceptedFile(f"{i}.csv", 5, 100, 10 * i) for i in range(count)}

    def in_training(self, first=0):
        paths = list(self.records)[first:]
        return FilesInTraining(self.records, paths, 5 * len(paths))


def test_policies_are_asked_with_the_files_in_training_alone():
    files = Files(4).in_training()
    assert len(files) == 4 and list(files.rows) == [5, 5, 5, 5] and list(files.mtimes_ns) == [0, 10, 20, 30]
    assert list(KeepEverything().files_leaving(files)) == []
    assert KeepEverything().refusal(0, 10**18) is None
    assert list(NewestTwoFiles().files_leaving(files)) == [0, 1]
    assert kgd.Window(rows=12).files_leaving(files) == [0, 1]
    assert kgd.Window(files=4).files_leaving(files) == []
    assert kgd.Window(seconds=15e-9).files_leaving(files) == [0, 1]
    assert kgd.Window(seconds=15e-9).refusal(0, 30) == (
        "is older than the window: it was last modified 3.47e-13 days before the newest file in "
        "training, more than Window(seconds=1.5e-08) allows"
    )
    assert kgd.Window(seconds=15e-9).refusal(20, 30) is None


def test_a_policy_of_its_own_decides_what_each_epoch_trains(folder):
    write_csv(folder / "a.csv", id_rows(0, 4))

    class DropFile(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            write_csv(folder / f"n{epoch}.csv", id_rows(10 * (epoch + 1), epoch + 1))

    model, counts = counting_model()
    data = kgd.GrowingDataCallback(
        folder, label="price", batch_size=4, settle_seconds=0, window=NewestTwoFiles()
    )
    history = kgd.GrowingDatasetTrainer(model, data).fit(epochs=4, callbacks=[DropFile(), counts], verbose=0)
    # a.csv (4 rows), then n0 (1), n1 (2), n2 (3): the two newest train.
    assert history.history["rows"] == [4, 5, 3, 5]
    assert history.history["files_left"] == [0, 0, 1, 2]
    assert [list(np.flatnonzero(counts.per_epoch[e])) for e in range(4)] == [
        [0, 1, 2, 3],
        [0, 1, 2, 3, 10],
        [10, 20, 21],
        [20, 21, 30, 31, 32],
    ]

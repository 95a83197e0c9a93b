import os

import keras
import pytest
from helpers import counting_model, write_csv
from test_trainer import CrashAt

import keras_growing_data as kgd


def fit(folder, backup, callbacks, double_checkpoint=True):
    model, _ = counting_model()
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=8, settle_seconds=0)
    restore = keras.callbacks.BackupAndRestore(str(backup), double_checkpoint=double_checkpoint)
    return kgd.GrowingDatasetTrainer(model, data).fit(epochs=5, callbacks=[restore, *callbacks], verbose=0)


def test_a_backup_whose_metadata_a_kill_tore_resumes_from_the_previous_epoch(folder, tmp_path, caplog):
    write_csv(folder / "a.csv", 24)
    backup = tmp_path / "backup"
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(folder, backup, [CrashAt(3)])
    # What a kill after epoch 2's weights were saved and while its metadata was written leaves.
    os.truncate(backup / "training_metadata.json", 0)
    history = fit(folder, backup, [])
    assert history.epoch == [2, 3, 4] and history.history["rows"] == [24, 24, 24]
    assert f"{backup}/training_metadata.json was torn" in caplog.text


def test_a_torn_backup_without_a_previous_one_says_what_to_do(folder, tmp_path):
    write_csv(folder / "a.csv", 24)
    backup = tmp_path / "backup"
    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(folder, backup, [CrashAt(3)], double_checkpoint=False)
    os.truncate(backup / "training_metadata.json", 0)
    with pytest.raises(ValueError, match="is torn .* no previous backup"):
        fit(folder, backup, [], double_checkpoint=False)

import csv
import json
import logging
import math
import os
import threading
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import (
    OLD,
    TENSORFLOW_ONLY,
    BatchLogs,
    TracedSequential,
    counting_model,
    id_rows,
    run_python,
    steps_of_rows,
    train_step_compiles,
    write_csv,
)

import keras_growing_data as kgd
from keras_growing_data.sources.manifest import Manifest


class DropFiles(keras.callbacks.Callback):
    """Writes files at the end of given epochs: {epoch: [(name, first_id, n)]}."""

    def __init__(self, folder, plan):
        super().__init__()
        self.folder = folder
        self.plan = plan

    def on_epoch_end(self, epoch, logs=None):
        for name, first_id, count in self.plan.get(epoch, []):
            write_csv(self.folder / name, id_rows(first_id, count))


class Recorder(keras.callbacks.Callback):
    """Records every hook call, with epoch numbers and step counts."""

    def __init__(self):
        super().__init__()
        self.calls = []
        self.steps = {}
        self.batches = {}

    def on_train_begin(self, logs=None):
        self.calls.append("train_begin")

    def on_train_end(self, logs=None):
        self.calls.append("train_end")

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(("epoch_begin", epoch))
        self.steps[epoch] = self.params["steps"]
        self.batches[epoch] = 0

    def on_epoch_end(self, epoch, logs=None):
        self.calls.append(("epoch_end", epoch))

    def on_train_batch_end(self, batch, logs=None):
        self.batches[max(self.batches)] += 1

    def on_test_begin(self, logs=None):
        self.calls.append("test_begin")

    def on_test_end(self, logs=None):
        self.calls.append("test_end")


def test_every_accepted_row_is_trained_exactly_once_per_epoch(folder):
    write_csv(folder / "a.csv", id_rows(0, 100))
    write_csv(folder / "b.csv", id_rows(100, 37))
    plan = {0: [("c.csv", 137, 50)], 2: [("d.csv", 187, 13), ("e.csv", 200, 1)]}
    model, counts = counting_model()
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=16, seed=3, settle_seconds=0)
    kgd.GrowingDatasetTrainer(model, data).fit(
        epochs=4, callbacks=[counts, DropFiles(folder, plan)], verbose=0
    )
    expected_rows = {0: 137, 1: 187, 2: 187, 3: 201}
    for epoch, rows in expected_rows.items():
        seen = counts.per_epoch[epoch]
        np.testing.assert_array_equal(seen[:rows], 1, err_msg=f"epoch {epoch}")
        assert seen[rows:].sum() == 0, f"epoch {epoch} trained rows not yet accepted"
    assert sorted(data.accepted) == sorted(str(folder / n) for n in "abcde" for n in [f"{n}.csv"])
    assert data.num_rows == 201


def test_logs_carry_rows_and_files_into_history_and_csv_logger(folder, tmp_path):
    write_csv(folder / "a.csv", 40)
    plan = {1: [("b.csv", 40, 24)]}
    model, counts = counting_model()
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=8, settle_seconds=0)
    log_path = tmp_path / "log.csv"
    history = kgd.GrowingDatasetTrainer(model, data).fit(
        epochs=3,
        callbacks=[DropFiles(folder, plan), keras.callbacks.CSVLogger(str(log_path))],
        verbose=0,
    )
    assert history.history["rows"] == [40, 40, 64]
    assert history.history["files"] == [1, 1, 2]
    assert history.epoch == [0, 1, 2]
    assert model.history is history
    with open(log_path) as f:
        logged = list(csv.DictReader(f))
    assert [row["rows"] for row in logged] == ["40", "40", "64"]
    assert [row["files"] for row in logged] == ["1", "1", "2"]


def test_callbacks_see_one_training_run(folder):
    write_csv(folder / "a.csv", 20)
    write_csv(folder / "val.csv", 8)
    plan = {0: [("b.csv", 20, 30)]}
    model, _ = counting_model()
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=8, pattern="[ab].csv", settle_seconds=0)
    validation = kgd.GrowingDataCallback(
        folder, label="price", batch_size=4, pattern="val.csv", settle_seconds=0
    )
    recorder = Recorder()
    kgd.GrowingDatasetTrainer(model, data).fit(
        epochs=3,
        callbacks=[DropFiles(folder, plan), recorder],
        validation_data=validation,
        verbose=0,
    )
    epochs = [("epoch_begin", e) for e in range(3)]
    assert recorder.calls[0] == "train_begin" and recorder.calls[-1] == "train_end"
    assert recorder.calls.count("train_begin") == 1
    assert recorder.calls.count("train_end") == 1
    assert [c for c in recorder.calls if c in epochs] == epochs
    assert recorder.calls.count("test_begin") == 3
    assert recorder.steps == {0: 3, 1: 7, 2: 7}
    assert recorder.batches == {0: 3, 1: 7, 2: 7}


def test_validation_folder_is_polled_at_each_boundary(folder, tmp_path):
    val_folder = tmp_path / "val"
    val_folder.mkdir()
    write_csv(folder / "a.csv", 16)
    write_csv(val_folder / "v1.csv", id_rows(0, 4))

    class DropValidation(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                write_csv(val_folder / "v2.csv", id_rows(4, 4))

    model, _ = counting_model()
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=4, settle_seconds=0)
    validation = kgd.GrowingDataCallback(val_folder, label="price", batch_size=4, settle_seconds=0)
    history = kgd.GrowingDatasetTrainer(model, data).fit(
        epochs=2, callbacks=[DropValidation()], validation_data=validation, verbose=0
    )
    assert validation.num_rows == 8
    assert len(history.history["val_loss"]) == 2


def test_early_stopping_ends_the_whole_run(folder):
    write_csv(folder / "a.csv", 32)
    model, _ = counting_model()
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mse")  # Never improves.
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=8, shuffle=False, settle_seconds=0)
    recorder = Recorder()
    history = kgd.GrowingDatasetTrainer(model, data).fit(
        epochs=50,
        callbacks=[keras.callbacks.EarlyStopping(monitor="loss", patience=2), recorder],
        verbose=0,
    )
    assert history.epoch == [0, 1, 2]
    assert recorder.calls[-1] == "train_end"


class CrashAt(keras.callbacks.Callback):
    def __init__(self, epoch):
        super().__init__()
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise RuntimeError("simulated crash")


def test_backup_and_restore_resumes_at_the_interrupted_epoch(folder, tmp_path):
    write_csv(folder / "a.csv", 24)
    backup = str(tmp_path / "backup")
    model, _ = counting_model()
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=8, settle_seconds=0)
    with pytest.raises(RuntimeError, match="simulated crash"):
        kgd.GrowingDatasetTrainer(model, data).fit(
            epochs=5, callbacks=[keras.callbacks.BackupAndRestore(backup), CrashAt(3)], verbose=0
        )
    model, _ = counting_model(seed=1)
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=8, settle_seconds=0)
    recorder = Recorder()
    history = kgd.GrowingDatasetTrainer(model, data).fit(
        epochs=5, callbacks=[keras.callbacks.BackupAndRestore(backup), recorder], verbose=0
    )
    assert history.epoch == [3, 4]
    assert [c for c in recorder.calls if isinstance(c, tuple) and c[0] == "epoch_begin"] == [
        ("epoch_begin", 3),
        ("epoch_begin", 4),
    ]
    assert model._initial_epoch is None


def test_a_backup_a_kill_broke_in_its_weight_save_resumes_at_the_epoch_before(folder, tmp_path):
    write_csv(folder / "a.csv", 24)
    backup = tmp_path / "backup"

    def fit(callback, seed=0):
        model, _ = counting_model(seed=seed)
        data = kgd.GrowingDataCallback(folder, label="price", batch_size=8, settle_seconds=0)
        restore = keras.callbacks.BackupAndRestore(str(backup), double_checkpoint=True)
        return model, kgd.GrowingDatasetTrainer(model, data).fit(
            epochs=5, callbacks=[restore, callback], verbose=0
        )

    with pytest.raises(RuntimeError, match="simulated crash"):
        fit(CrashAt(3))
    # What a kill inside the save of epoch 2's weights leaves: the file cut short.
    weights = backup / "latest.weights.h5"
    os.truncate(weights, os.path.getsize(weights) // 2)
    recorder = Recorder()
    model, history = fit(recorder, seed=1)
    assert history.epoch == [2, 3, 4]
    assert [c[1] for c in recorder.calls if isinstance(c, tuple) and c[0] == "epoch_begin"] == [2, 3, 4]
    assert history.history["rows"] == [24, 24, 24]
    assert model._initial_epoch is None


CLASSES = {c: 1.0 for c in range(14)}  # Keras's class_weight must cover every label (1 ... 13).


class AllHooks(keras.callbacks.Callback):
    """Records every hook Keras calls, with its epoch or batch number."""

    def __init__(self):
        super().__init__()
        self.calls = []
        for hook in [name for name in dir(keras.callbacks.Callback) if name.startswith("on_")]:
            setattr(self, hook, self._recorder(hook))

    def _recorder(self, hook):
        def record(*args, **kwargs):
            self.calls.append((hook, *[a for a in args if isinstance(a, int)]))

        return record


@pytest.mark.parametrize(
    "pad_last_batch, class_weight",
    [(False, None), (True, None), (True, {**CLASSES, 1: 2.0, 3: 0.5}), (False, {**CLASSES, 1: 2.0})],
)
def test_static_folder_matches_model_fit(folder, pad_last_batch, class_weight):
    rows = id_rows(0, 90)  # Batches of 16, 16, 16, 16, 16 and 10 rows.
    write_csv(folder / "a.csv", rows[:50])
    write_csv(folder / "b.csv", rows[50:])
    x = np.array([r[:2] for r in rows], "float32")
    y = np.array([r[2] for r in rows], "float32")

    def model():
        keras.utils.set_random_seed(42)
        m = keras.Sequential(
            [keras.Input((2,)), keras.layers.Dense(4, activation="relu"), keras.layers.Dense(1)]
        )
        m.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
        return m

    reference, reference_batches, reference_hooks = model(), BatchLogs(), AllHooks()
    expected = reference.fit(
        x,
        y,
        batch_size=16,
        epochs=4,
        shuffle=False,
        verbose=0,
        callbacks=[reference_batches, reference_hooks],
        class_weight=class_weight,
        validation_data=(x[:20], y[:20]),
    )
    grown, grown_batches, grown_hooks = model(), BatchLogs(), AllHooks()
    data = kgd.GrowingDataCallback(
        folder, label="price", batch_size=16, shuffle=False, settle_seconds=0, pad_last_batch=pad_last_batch
    )
    history = kgd.GrowingDatasetTrainer(grown, data).fit(
        epochs=4,
        verbose=0,
        callbacks=[grown_batches, grown_hooks],
        class_weight=class_weight,
        validation_data=(x[:20], y[:20]),
    )
    assert history.history.pop("rows") == [90] * 4
    assert history.history.pop("files") == [2] * 4
    assert grown_hooks.calls == reference_hooks.calls
    assert history.epoch == expected.epoch == [0, 1, 2, 3]
    assert sorted(history.history) == sorted(expected.history)
    for key, values in expected.history.items():
        np.testing.assert_allclose(history.history[key], values, rtol=1e-6, err_msg=key)
    assert len(grown_batches.logs) == len(reference_batches.logs) == 4 * 6
    for logs, expected_logs in zip(grown_batches.logs, reference_batches.logs, strict=True):
        for key, value in expected_logs.items():
            np.testing.assert_allclose(logs[key], value, rtol=1e-6, err_msg=key)
    for a, b in zip(grown.get_weights(), reference.get_weights(), strict=True):
        if pad_last_batch:  # A padded batch sums more rows, in another order: float32 rounding.
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
        else:
            np.testing.assert_array_equal(a, b)


class BuiltAtTrainBegin(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.built = self.model.built


def test_the_model_is_built_when_train_begins_as_model_fit_builds_it(folder):
    # On JAX and torch `fit` builds the model before `on_train_begin` (callbacks such as
    # BackupAndRestore need it built); on TensorFlow inside the first step, after it.
    write_csv(folder / "a.csv", 20)
    x = np.array([r[:2] for r in id_rows(0, 20)], "float32")
    y = np.array([r[2] for r in id_rows(0, 20)], "float32")

    def unbuilt_model():
        model = keras.Sequential([keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        return model

    reference = BuiltAtTrainBegin()
    unbuilt_model().fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[reference])
    grown = BuiltAtTrainBegin()
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=8, settle_seconds=0)
    kgd.GrowingDatasetTrainer(unbuilt_model(), data).fit(epochs=1, verbose=0, callbacks=[grown])
    assert grown.built == reference.built == (keras.backend.backend() != "tensorflow")


def test_a_seeded_run_trains_the_epochs_of_its_seed_also_when_resumed(folder, tmp_path):
    # On JAX and torch, `fit` builds an unbuilt model from a batch it pulls
    # first, which would draw a shuffle pass; the trainer builds from the spec.
    write_csv(folder / "a.csv", 45)
    backup = str(tmp_path / "backup")

    def fit(model_seed, *callbacks):
        model, counts = counting_model(seed=model_seed)
        data = kgd.GrowingDataCallback(folder, label="price", batch_size=8, seed=7, settle_seconds=0)
        restore = keras.callbacks.BackupAndRestore(backup)
        trainer = kgd.GrowingDatasetTrainer(model, data)
        try:
            trainer.fit(epochs=4, callbacks=[restore, counts, *callbacks], verbose=0)
        except RuntimeError as e:
            assert "simulated crash" in str(e)
        return counts

    crashed = fit(0, CrashAt(2))
    resumed = fit(1)
    assert sorted(crashed.steps) == [0, 1] and sorted(resumed.steps) == [2, 3]
    expected = kgd.GrowingDataCallback(folder, label="price", batch_size=8, seed=7, settle_seconds=0)
    trained = {**crashed.steps, **resumed.steps}
    for epoch in range(4):
        np.testing.assert_array_equal(trained[epoch], steps_of_rows(expected.epoch_dataset(epoch)))
    assert not np.array_equal(trained[0], trained[1])  # The seed shuffles each epoch anew.


class CompilesPerEpoch(keras.callbacks.Callback):
    """Records, at each epoch's end, how often the model's train step was compiled so far."""

    def __init__(self):
        super().__init__()
        self.so_far = []

    def on_epoch_end(self, epoch, logs=None):
        self.so_far.append(train_step_compiles(self.model))


def test_growth_does_not_recompile_the_train_step(folder):
    # With jit_compile=True, JAX, torch.compile and XLA compile a step per
    # batch shape: unpadded, every new size of the last batch would compile.
    def model():
        keras.utils.set_random_seed(0)
        m = TracedSequential([keras.Input((2,)), keras.layers.Dense(1)])
        m.compile(optimizer="sgd", loss="mse", jit_compile=True)
        return m

    rows = id_rows(0, 45)
    static, static_compiles = model(), CompilesPerEpoch()
    x = np.array([r[:2] for r in rows], "float32")
    y = np.array([r[2] for r in rows], "float32")
    static.fit(x, y, batch_size=8, epochs=6, callbacks=[static_compiles], verbose=0)

    write_csv(folder / "a.csv", rows[:20])
    plan = {e: [(f"n{e}.csv", 20 + 10 * e, 3 + e)] for e in range(5)}
    grown, grown_compiles = model(), CompilesPerEpoch()
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=8, settle_seconds=0)
    history = kgd.GrowingDatasetTrainer(grown, data).fit(
        epochs=6, callbacks=[DropFiles(folder, plan), grown_compiles], verbose=0
    )
    assert history.history["rows"] == [20, 23, 27, 32, 38, 45]  # Last batches of 4, 7, 3, 8, 6, 5 rows.

    def after_first_epoch(so_far):
        return so_far[-1] - so_far[0]

    assert after_first_epoch(grown_compiles.so_far) <= after_first_epoch(static_compiles.so_far) == 0


class CountedPolls(kgd.GrowingDataCallback):
    """A callback that counts its polls."""

    polls = 0

    def poll(self):
        self.polls += 1
        return super().poll()


def test_empty_folder_fails_at_once_naming_it(folder):
    model, _ = counting_model()
    data = CountedPolls(folder, label="price", settle_seconds=0)
    with pytest.raises(kgd.NoRowsError) as error:
        kgd.GrowingDatasetTrainer(model, data).fit(epochs=1, verbose=0)
    assert data.polls == 1, "no wait without wait_for_data"
    assert str(error.value) == (
        f"No training rows in '{folder}': "
        "no file matches '*.csv', '*.jsonl' or '*.ndjson' (each plain or .gz, .bz2, .xz) or '*.parquet' yet; "
        "pass wait_for_data=seconds to wait for the first files."
    )
    assert isinstance(error.value, ValueError)


def test_a_folder_of_rejected_files_says_so_and_why_first(folder):
    write_csv(folder / "bad.csv", [(1, "n/a", 3)])
    write_csv(folder / "new.csv", 2, mtime=None)  # Not settled yet.
    model, _ = counting_model()
    data = kgd.GrowingDataCallback(folder, label="price", settle_seconds=600)
    with pytest.raises(kgd.NoRowsError) as error:
        kgd.GrowingDatasetTrainer(model, data).fit(epochs=1, verbose=0)
    assert str(error.value).splitlines() == [
        f"No training rows in '{folder}': 1 file was rejected, "
        "bad.csv: line 2, column 'x': missing value 'n/a', and the column has no default",
        "1 file is still being written; pass wait_for_data=seconds to wait for it.",
    ]
    os.remove(folder / "new.csv")
    for n in range(12):
        write_csv(folder / f"more-{n:02d}.csv", [(1, 2)])
    with pytest.raises(kgd.NoRowsError) as error:
        kgd.GrowingDatasetTrainer(model, data).fit(epochs=1, verbose=0)
    lines = str(error.value).splitlines()
    assert lines[0] == (
        f"No training rows in '{folder}': 13 files were rejected, "
        "the first bad.csv: line 2, column 'x': missing value 'n/a', and the column has no default"
    )
    assert lines[1:] == [
        f"  rejected more-{n:02d}.csv: line 2: expected 3 fields, found 2" for n in range(9)
    ] + ["  and 3 more rejected files"]
    assert "wait" not in str(error.value)


def test_missing_folder_is_named(tmp_path):
    model, _ = counting_model()
    data = kgd.GrowingDataCallback(tmp_path / "nowhere", label="price")
    with pytest.raises(FileNotFoundError, match="nowhere"):
        kgd.GrowingDatasetTrainer(model, data).fit(epochs=1, verbose=0)


def test_wait_for_data_waits_for_the_first_file(folder):
    timer = threading.Timer(0.5, lambda: write_csv(folder / "late.csv", 12))
    timer.start()
    model, counts = counting_model()
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=4, settle_seconds=0)
    history = kgd.GrowingDatasetTrainer(model, data).fit(
        epochs=1, wait_for_data=600, callbacks=[counts], verbose=0
    )
    timer.join()
    assert history.history["rows"] == [12]
    np.testing.assert_array_equal(counts.per_epoch[0][:12], 1)


def test_model_fit_with_the_callback_is_stopped_with_the_fix(folder):
    write_csv(folder / "a.csv", 10)
    model, _ = counting_model()
    data = kgd.GrowingDataCallback(folder, label="price", settle_seconds=0)
    data.poll()
    with pytest.raises(RuntimeError, match=r"GrowingDatasetTrainer\(model, data\)\.fit"):
        model.fit(data.dataset, callbacks=[data], epochs=3, verbose=0)


def test_progress_bar_shows_each_epochs_true_step_count(folder, capsys):
    write_csv(folder / "a.csv", 10)
    model, _ = counting_model()
    plan = {0: [("b.csv", 10, 25)]}
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=5, settle_seconds=0)
    history = kgd.GrowingDatasetTrainer(model, data).fit(
        epochs=2, callbacks=[DropFiles(folder, plan)], verbose=2
    )
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "2/2 - " in out
    assert "Epoch 2/2" in out and f"{math.ceil(35 / 5)}/{math.ceil(35 / 5)} - " in out
    # Counts print as integers; History keeps them as ints.
    assert [line.endswith(" - rows: 10 - files: 1") for line in out.splitlines() if " - loss: " in line] == [
        True,
        False,
    ]
    assert out.count(" - rows: 35 - files: 2") == 1
    assert history.history["rows"] == [10, 35] and {type(n) for n in history.history["files"]} == {int}


def test_progress_bar_counts_are_integers_while_an_epoch_runs(folder, capsys):
    write_csv(folder / "a.csv", 12)
    model, _ = counting_model()
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=4, settle_seconds=0)
    kgd.GrowingDatasetTrainer(model, data).fit(epochs=1, verbose=1)
    out = capsys.readouterr().out
    assert "rows: 12 - files: 1" in out
    assert "rows: 12." not in out


def test_ema_weights_are_applied_once_at_the_end(folder):
    rows = id_rows(0, 40)
    write_csv(folder / "a.csv", rows)
    x = np.array([r[:2] for r in rows], "float32")
    y = np.array([r[2] for r in rows], "float32")

    def model():
        keras.utils.set_random_seed(7)
        m = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        m.compile(
            optimizer=keras.optimizers.SGD(0.001, use_ema=True, ema_overwrite_frequency=None), loss="mse"
        )
        return m

    reference = model()
    reference.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0)
    grown = model()
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=8, shuffle=False, settle_seconds=0)
    kgd.GrowingDatasetTrainer(grown, data).fit(epochs=3, verbose=0)
    for a, b in zip(grown.get_weights(), reference.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert tf.reduce_all(tf.math.is_finite(grown.get_weights()[0]))


def test_background_polls_ingest_while_the_epoch_trains(folder):
    write_csv(folder / "a.csv", 64)
    seen_at_epoch_end = {}

    class DropMidEpoch(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 0 and not seen_at_epoch_end:
                late = write_csv(folder / "b.csv", id_rows(64, 30))
                # The epoch waits here, so only a background poll can take the file in.
                deadline = time.monotonic() + 120
                while late not in data.accepted and time.monotonic() < deadline:
                    time.sleep(0.01)

        def on_epoch_end(self, epoch, logs=None):
            seen_at_epoch_end[epoch] = sorted(data.accepted)

    model, counts = counting_model()
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=8, settle_seconds=0, poll_interval=0.05)
    history = kgd.GrowingDatasetTrainer(model, data).fit(
        epochs=2, callbacks=[counts, DropMidEpoch()], verbose=0
    )
    assert seen_at_epoch_end[0] == [str(folder / "a.csv"), str(folder / "b.csv")]
    assert history.history["rows"] == [64, 94]
    np.testing.assert_array_equal(counts.per_epoch[0][:64], 1)
    assert counts.per_epoch[0][64:].sum() == 0
    np.testing.assert_array_equal(counts.per_epoch[1][:94], 1)
    assert data._background._thread is None


RESUMABLE_RUN = """
import json, os, signal, sys
import keras
from helpers import counting_model
import keras_growing_data as kgd

folder, state, backup, out, kill_epoch = sys.argv[1:6]

class KillMidEpoch(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == int(kill_epoch) and batch == 1:
            os.kill(os.getpid(), signal.SIGKILL)

class Record(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        seen = counts.per_epoch[epoch]
        with open(out, "a") as f:
            f.write(json.dumps({"epoch": epoch, "rows": logs["rows"], "files": logs["files"],
                                "ids": [int(i) for i in seen.nonzero()[0]], "max": int(seen.max())}) + "\\n")

model, counts = counting_model()
data = kgd.GrowingDataCallback(folder, label="price", batch_size=4, settle_seconds=0, state_dir=state, seed=1)
kgd.GrowingDatasetTrainer(model, data).fit(
    epochs=4, verbose=0,
    callbacks=[counts, keras.callbacks.BackupAndRestore(backup, double_checkpoint=True), KillMidEpoch(),
               Record()])
"""


# What a kill tests is the ingest's state on disk, the same on every backend;
# BackupAndRestore on each backend is tested in process, above.
@TENSORFLOW_ONLY
@pytest.mark.parametrize("kill_epoch", [0, 2])
def test_hard_kill_resumes_at_the_epoch_and_reparses_nothing(folder, tmp_path, kill_epoch):
    a = write_csv(folder / "a.csv", id_rows(0, 10))
    b = write_csv(folder / "b.csv", id_rows(10, 6))
    out = tmp_path / "epochs.jsonl"
    args = [folder, tmp_path / "state", tmp_path / "backup", out]
    killed = run_python(tmp_path, RESUMABLE_RUN, *args, kill_epoch)
    assert killed.returncode == -9, killed.stderr.decode()[-2000:]
    os.remove(a)  # Its rows were accepted: they stay.
    write_csv(b, id_rows(500, 2), mtime=OLD + 9)  # Changed after acceptance: not read again.
    write_csv(folder / "c.csv", id_rows(16, 5))  # New while the trainer was down.
    resumed = run_python(tmp_path, RESUMABLE_RUN, *args, -1)
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]

    epochs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [e["epoch"] for e in epochs] == [0, 1, 2, 3]
    before, after = (16, 2), (21, 3)
    expected = [before if e < kill_epoch else after for e in range(4)]
    assert [(e["rows"], e["files"]) for e in epochs] == expected
    assert [e["ids"] for e in epochs] == [list(range(rows)) for rows, _ in expected]
    assert all(e["max"] == 1 for e in epochs), "a row was trained twice in an epoch"
    state = Manifest(str(tmp_path / "state")).load()
    assert [r["path"] for r in state["accepted"]] == [a, b, str(folder / "c.csv")]
    assert state["epochs"] == {str(e): [files, rows, 0] for e, (rows, files) in enumerate(expected)}


def test_skipped_rows_and_lineage_are_reported_per_epoch(folder):
    a = write_csv(folder / "a.csv", id_rows(0, 8))
    lines = "id,x,price\n8,1,1\n9,oops,1\n10,1,1\n"
    (folder / "b.csv").write_text(lines)
    os.utime(folder / "b.csv", (OLD, OLD))
    model, counts = counting_model()
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=4, settle_seconds=0, on_bad_row="skip")
    history = kgd.GrowingDatasetTrainer(model, data).fit(epochs=2, callbacks=[counts], verbose=0)
    assert history.history["rows"] == [10, 10]
    assert history.history["rows_skipped"] == [1, 1]
    np.testing.assert_array_equal(counts.per_epoch[1][:11], [1] * 9 + [0, 1])
    assert data.lineage[1] == kgd.EpochLineage(files=(a, str(folder / "b.csv")), rows=10, rows_skipped=1)


MIRRORED_RUN = """
import json, os
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras
from helpers import CITIES, id_rows, write_csv
import keras_growing_data as kgd

folder = sys.argv[1]
seen = []


def write_typed(path, first_id, count):
    rows = [(*row, CITIES[row[0] % 4]) for row in id_rows(first_id, count)]
    write_csv(path, rows, header=("id", "x", "price", "city"))


class RecordIds(keras.layers.Layer):
    # Each replica reports the ids of its share of the batch. (A summed
    # counter variable is not reliable for this in replica context.)
    def call(self, ids, training=False):
        if training:
            tf.py_function(lambda ids: seen[-1].extend(ids.numpy().astype(int).tolist()), [ids], [])
        return ids


class Epochs(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        seen.append([])

    def on_epoch_end(self, epoch, logs=None):
        write_typed(os.path.join(folder, "n%d.csv" % epoch), 100 + 10 * epoch, 5 + epoch)


write_typed(os.path.join(folder, "a.csv"), 0, 37)
strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
with strategy.scope():
    inputs = {"id": keras.Input((), name="id"), "x": keras.Input((), name="x"),
              "city": keras.Input((), name="city", dtype="int64")}
    x = keras.ops.expand_dims(inputs["x"] + 0 * RecordIds()(inputs["id"]), 1)
    hidden = keras.layers.Concatenate()([x, keras.layers.Embedding(16, 2)(inputs["city"])])
    model = keras.Model(inputs, keras.ops.squeeze(keras.layers.Dense(1)(hidden), 1))
    model.compile(optimizer="sgd", loss="mse")
data = kgd.GrowingDataCallback(folder, label="price", batch_size=8, settle_seconds=0, strings_as="index")
history = kgd.GrowingDatasetTrainer(model, data).fit(epochs=3, callbacks=[Epochs()], verbose=0)
print(json.dumps({"replicas": strategy.num_replicas_in_sync, "rows": history.history["rows"],
                  "seen": [sorted(ids) for ids in seen], "cities": data.vocabulary("city")}))
"""


DATA_PARALLEL_SCRIPT = """
import os
os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=2"
import json
import pathlib
import jax
import keras
from helpers import counting_model, id_rows, write_csv
import keras_growing_data as kgd

folder = pathlib.Path(sys.argv[1])
assert len(jax.devices()) == 2, jax.devices()
keras.distribution.set_distribution(keras.distribution.DataParallel(devices=jax.devices()))

class Drop(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        write_csv(folder / f"n{epoch}.csv", id_rows(100 + 10 * epoch, 3 + epoch))

write_csv(folder / "a.csv", 21)
model, counts = counting_model(max_ids=1000)
data = kgd.GrowingDataCallback(folder, label="price", batch_size=8, settle_seconds=0)
history = kgd.GrowingDatasetTrainer(model, data).fit(epochs=4, callbacks=[Drop(), counts], verbose=0)
trained = {e: sorted(int(i) for i in c.nonzero()[0]) for e, c in counts.per_epoch.items()}
print(json.dumps({"rows": history.history["rows"], "trained": trained,
                  "most": max(int(c.max()) for c in counts.per_epoch.values())}))
"""


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="keras.distribution.DataParallel runs on JAX")
def test_data_parallel_on_two_jax_devices_trains_exact_epochs(folder, tmp_path):
    done = run_python(tmp_path, DATA_PARALLEL_SCRIPT, folder)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    result = json.loads(done.stdout.decode().splitlines()[-1])
    # 21 rows, then 3, 4 and 5 more: last batches of 5, 0, 4 and 1 rows, each padded to 8.
    assert result["rows"] == [21, 24, 28, 33]
    files = [list(range(21))] + [list(range(100 + 10 * e, 103 + 11 * e)) for e in range(3)]
    for epoch in range(4):
        assert result["trained"][str(epoch)] == sorted(i for ids in files[: epoch + 1] for i in ids)
    assert result["most"] == 1


@TENSORFLOW_ONLY
def test_mirrored_strategy_on_two_devices_trains_exact_epochs_on_typed_columns(folder, tmp_path):
    run = run_python(tmp_path, MIRRORED_RUN, folder)
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    result = json.loads(run.stdout.decode().strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert result["rows"] == [37, 42, 48]
    assert result["seen"][0] == list(range(37))
    assert result["seen"][1] == list(range(37)) + list(range(100, 105))
    assert result["seen"][2] == list(range(37)) + list(range(100, 105)) + list(range(110, 116))
    assert result["cities"] == ["[UNK]", "Austin", "Oslo", "Lima", "São Paulo"]


def test_an_empty_validation_folder_fails_before_training(folder, tmp_path):
    write_csv(folder / "a.csv", 8)
    (tmp_path / "val").mkdir()
    model, _ = counting_model()
    data = kgd.GrowingDataCallback(folder, label="price", settle_seconds=0)
    validation = kgd.GrowingDataCallback(tmp_path / "val", label="price", settle_seconds=0)
    with pytest.raises(ValueError, match="No validation rows in .*val"):
        kgd.GrowingDatasetTrainer(model, data).fit(epochs=1, validation_data=validation, verbose=0)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"epochs": -1}, ValueError, "epochs must be >= 0, got -1"),
        ({"epochs": 2.5}, TypeError, "epochs must be an integer, got 2.5 (float)"),
        ({"callbacks": keras.callbacks.History()}, TypeError, "callbacks must be a list of"),
        ({"callbacks": [print]}, TypeError, "callbacks must hold keras.callbacks.Callback objects"),
        ({"verbose": 3}, ValueError, 'verbose must be "auto", 0, 1 or 2, got 3'),
        ({"initial_epoch": -2}, ValueError, "initial_epoch must be >= 0, got -2"),
        ({"wait_for_data": -1}, ValueError, "wait_for_data must be >= 0, got -1"),
        ({"wait_for_data": "5"}, TypeError, "wait_for_data must be a number"),
        ({"validation_freq": 0}, ValueError, "validation_freq must be >= 1, got 0"),
        ({"class_weight": [1, 2]}, TypeError, "class_weight must be a dict or None, got list"),
        ({"validation_split": 0.2}, ValueError, "validation_data=GrowingDataCallback('validation/'"),
    ],
)
def test_fit_checks_its_arguments_before_it_polls(folder, kwargs, error, message):
    write_csv(folder / "a.csv", 8)
    model, _ = counting_model()
    data = kgd.GrowingDataCallback(folder, label="price", settle_seconds=0)
    with pytest.raises(error) as raised:
        kgd.GrowingDatasetTrainer(model, data).fit(**kwargs)
    assert message in str(raised.value)
    assert data.accepted == {}, "checked before the folder was read"


def test_trainer_checks_the_model_and_the_data(folder):
    data = kgd.GrowingDataCallback(folder, label="price", settle_seconds=0)
    with pytest.raises(TypeError, match="model must be a keras.Model, got str"):
        kgd.GrowingDatasetTrainer("model.keras", data)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    with pytest.raises(TypeError, match="data must be a GrowingDataCallback, got str"):
        kgd.GrowingDatasetTrainer(model, "incoming/")
    with pytest.raises(ValueError, match=r"must be compiled before training: call model.compile"):
        kgd.GrowingDatasetTrainer(model, data).fit(epochs=1)
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="validation_data is the training data's own callback"):
        kgd.GrowingDatasetTrainer(model, data).fit(epochs=1, validation_data=data)


def test_validation_freq_takes_a_list_of_epochs_as_model_fit_does(folder, tmp_path):
    write_csv(folder / "a.csv", 16)
    (tmp_path / "val").mkdir()
    write_csv(tmp_path / "val" / "v.csv", 8)
    model, _ = counting_model()
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=8, settle_seconds=0)
    validation = kgd.GrowingDataCallback(tmp_path / "val", label="price", settle_seconds=0)
    history = kgd.GrowingDatasetTrainer(model, data).fit(
        epochs=3, validation_data=validation, validation_freq=[2], verbose=0
    )
    assert len(history.history["loss"]) == 3 and len(history.history["val_loss"]) == 1
    with pytest.raises(ValueError, match="each epoch of validation_freq must be >= 1, got 0"):
        kgd.GrowingDatasetTrainer(model, data).fit(epochs=1, validation_freq=[0])


def test_a_backlog_is_read_in_the_background_while_training_runs_each_row_once(folder, caplog):
    files = kgd.training.background_polls.BACKLOG_FILES + 50
    for i in range(files):
        write_csv(folder / f"part-{i:05d}.csv", id_rows(3 * i, 3))
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=16, settle_seconds=0, poll_interval=0.05)

    class UntilTheBacklogIsIn(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            deadline = time.monotonic() + 600  # Only bounds a failing run.
            while epoch == 1 and data.backlog and time.monotonic() < deadline:
                time.sleep(0.01)

    model, counts = counting_model()
    with caplog.at_level(logging.INFO, logger="keras_growing_data"):
        history = kgd.GrowingDatasetTrainer(model, data).fit(
            epochs=3, callbacks=[counts, UntilTheBacklogIsIn()], verbose=0
        )
    rows = history.history["rows"]
    assert rows[0] < 3 * files, "training waited for the whole backlog"
    assert rows[2] == 3 * files and history.history["files"][2] == files
    assert rows == sorted(rows)
    for epoch, epoch_rows in enumerate(rows):  # Files are read in name order: ids 0 ... rows - 1.
        np.testing.assert_array_equal(counts.per_epoch[epoch][:epoch_rows], 1)
        assert counts.per_epoch[epoch][epoch_rows:].sum() == 0
    (start,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("Training starts")]
    assert start.startswith(f"Training starts with the 3 rows read so far; {files - 1} more files (")


def test_a_verbose_run_shows_a_backlog_as_a_progress_bar(folder, capsys):
    files = kgd.training.background_polls.BACKLOG_FILES
    for i in range(files):
        write_csv(folder / f"part-{i:05d}.csv", id_rows(3 * i, 3))
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=16, settle_seconds=0)
    model, _ = counting_model()
    kgd.GrowingDatasetTrainer(model, data).fit(epochs=1, verbose=1)
    out = capsys.readouterr().out
    nbytes = sum(path.stat().st_size for path in folder.iterdir())
    assert f"Reading {files} files ({nbytes / 1e6:.1f} MB) of {folder}" in out
    assert f"{files}/{files}" in out and "rows: 300" in out

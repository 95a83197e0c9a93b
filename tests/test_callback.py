import logging
import os
import sys
import threading
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import OLD, id_rows, write_csv

import keras_growing_data as kgd

NUMBERS = {"id": "float32", "x": "float32", "price": "float32"}


def poll_all(folder, **kwargs):
    data = kgd.GrowingDataCallback(str(folder), label="price", settle_seconds=0, **kwargs)
    return data, data.poll()


def test_poll_accepts_complete_files_and_returns_them(folder):
    a = write_csv(folder / "a.csv", 10)
    b = write_csv(folder / "b.csv", 5)
    data, new = poll_all(folder)
    assert new == [a, b]
    assert data.num_rows == 15
    assert {p: r.rows for p, r in data.accepted.items()} == {a: 10, b: 5}
    assert data.poll() == []
    assert data.feature_names == ["id", "x"]


def test_bad_files_are_rejected_with_reasons_and_training_data_goes_on(folder, caplog):
    good = write_csv(folder / "good.csv", 6)
    write_csv(folder / "nolabel.csv", [(1, 2)], header=("id", "x"))
    write_csv(folder / "other.csv", [(1, 2, 3)], header=("x", "id", "price"))
    write_csv(folder / "text.csv", [(1, "n/a", 3)])
    write_csv(folder / "word.csv", [(1, "Austin", 3)])
    write_csv(folder / "short.csv", [(1, 2)])
    (folder / "empty.csv").write_text("")
    os.utime(folder / "empty.csv", (OLD, OLD))
    with caplog.at_level(logging.WARNING, logger="keras_growing_data"):
        data, new = poll_all(folder)
    assert new == [good, str(folder / "other.csv")]  # Columns are matched by name.
    reasons = {os.path.basename(p): r.reason for p, r in data.rejected.items()}
    assert reasons == {
        "empty.csv": "the file is empty",
        "nolabel.csv": "the header has no label column ['price']; it has ['id', 'x']",
        "short.csv": "line 2: expected 3 fields, found 2",
        "text.csv": "line 2, column 'x': missing value 'n/a', and the column has no default",
        "word.csv": "line 2, column 'x': expected a number, found 'Austin'",
    }
    assert sum("Rejected" in r.message for r in caplog.records) == 5
    assert data.num_rows == 7 and data.schema == {"id": "float32", "x": "float32", "price": "float32"}


def test_accepted_file_is_never_ingested_twice(folder, caplog):
    path = write_csv(folder / "a.csv", 4)
    data, _ = poll_all(folder)
    with open(path, "a") as f:
        f.write("99,1,1\n")
    os.utime(path, (OLD + 5, OLD + 5))
    with caplog.at_level(logging.WARNING, logger="keras_growing_data"):
        assert data.poll() == []
        assert data.poll() == []
    assert data.num_rows == 4
    warnings = [r.message for r in caplog.records if "changed after it was accepted" in r.message]
    assert len(warnings) == 1


def test_rejected_file_is_judged_again_only_when_it_changes(folder):
    path = write_csv(folder / "a.csv", [(1, "bad", 3)])
    data, _ = poll_all(folder, columns=NUMBERS)
    assert list(data.rejected) == [path]
    assert data.poll() == []
    write_csv(path, 3, mtime=OLD + 10)
    assert data.poll() == [path]
    assert data.rejected == {} and data.num_rows == 3


def test_dataset_shapes_for_one_several_and_no_labels(folder):
    write_csv(folder / "a.csv", [(1, 2, 3, 4)], header=("a", "b", "price", "qty"))
    one, _ = poll_all(folder, batch_size=4)
    assert one.dataset.element_spec == (
        tf.TensorSpec([None, 3], tf.float32),
        tf.TensorSpec([None], tf.float32),
    )
    several = kgd.GrowingDataCallback(str(folder), label=["qty", "price"], settle_seconds=0)
    several.poll()
    x, y = next(iter(several.dataset))
    np.testing.assert_array_equal(x.numpy(), [[1, 2]])
    np.testing.assert_array_equal(y.numpy(), [[4, 3]])  # One [batch, 2] tensor, in the order named.
    listed = kgd.GrowingDataCallback(str(folder), label=["price"], settle_seconds=0)
    listed.poll()
    assert listed.dataset.element_spec[1] == tf.TensorSpec([None, 1], tf.float32)
    outputs = kgd.GrowingDataCallback(str(folder), label={"p": "price", "q": ["qty"]}, settle_seconds=0)
    outputs.poll()
    assert outputs.dataset.element_spec[1] == {
        "p": tf.TensorSpec([None], tf.float32),
        "q": tf.TensorSpec([None, 1], tf.float32),
    }
    none = kgd.GrowingDataCallback(str(folder), label=None, settle_seconds=0)
    none.poll()
    assert none.dataset.element_spec == tf.TensorSpec([None, 4], tf.float32)


def test_dataset_is_reused_until_rows_arrive(folder):
    write_csv(folder / "a.csv", 4)
    data, _ = poll_all(folder)
    assert data.dataset is data.dataset
    first = data.dataset
    write_csv(folder / "b.csv", id_rows(4, 4))
    data.poll()
    assert data.dataset is not first
    assert sum(len(x) for x, _ in data.dataset) == 8


def test_no_rows_yet_is_a_clear_error(folder):
    data, _ = poll_all(folder)
    with pytest.raises(ValueError, match="No rows accepted yet from .*incoming"):
        _ = data.dataset


def test_the_callback_refuses_to_run_outside_the_trainer(folder):
    write_csv(folder / "a.csv", 4)
    data, _ = poll_all(folder)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(RuntimeError) as error:
        model.fit(data.dataset, callbacks=[data], epochs=2, verbose=0)
    message = str(error.value)
    assert "Keras caps every epoch at the first epoch's step count" in message
    assert "data = GrowingDataCallback(" in message
    assert "history = GrowingDatasetTrainer(model, data).fit(" in message


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"directory": 13}, TypeError, "directory must be a path (str or os.PathLike), got 13 (int)"),
        ({"directory": ""}, ValueError, "directory must not be empty"),
        (
            {"label": 13},
            TypeError,
            "label must be a column name (str), a list of column names, a dict of output name -> "
            "column name(s), or None; got 13 (int)",
        ),
        ({"features": "table"}, ValueError, "features must be one of 'auto', 'dict', 'matrix', got 'table'"),
        ({"strings_as": "ids"}, ValueError, "strings_as must be one of 'string', 'index', got 'ids'"),
        ({"pad_last_batch": 1}, ValueError, 'pad_last_batch must be "auto", True or False, got 1.'),
        ({"pad_last_batch": True, "label": None}, ValueError, "pad_last_batch=True needs a label"),
        ({"columns": ["price"]}, TypeError, "columns must be None or a dict of column name"),
        ({"columns": {"x": "float32"}}, ValueError, "columns must declare the label columns too"),
        ({"defaults": {"price": None}}, TypeError, "the default of 'price' must be a number or a str"),
        ({"na_values": "NA"}, TypeError, "na_values must be None or a list of str, got 'NA'"),
        (
            {"columns": {"c": "string", "price": "float32"}, "features": "matrix"},
            ValueError,
            "features=\"matrix\" needs numeric features, but ['c'] are string columns",
        ),
        (
            {"columns": {"x": "float32", "c": "string", "price": "float32"}, "label": ["c", "price"]},
            ValueError,
            "the labels ['c', 'price'] mix string and number columns",
        ),
        ({"label": [1]}, TypeError, "1 is not a str"),
        ({"label": []}, ValueError, "got an empty list"),
        ({"label": ["y", "y"]}, ValueError, "label names a column more than once: ['y']"),
        ({"label": " price"}, ValueError, "label ' price' has spaces around it"),
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1, got 0"),
        ({"batch_size": 8.0}, TypeError, "batch_size must be an integer, got 8.0 (float)"),
        ({"batch_size": True}, TypeError, "batch_size must be an integer"),
        ({"pattern": None}, TypeError, "pattern must be a string"),
        ({"shuffle": "no"}, TypeError, "shuffle must be True or False, got 'no' (str)"),
        ({"seed": -1}, ValueError, "seed must be >= 0, got -1"),
        ({"seed": "1"}, TypeError, "seed must be an integer"),
        ({"settle_seconds": -1}, ValueError, "settle_seconds must be >= 0, got -1"),
        ({"settle_seconds": "1"}, TypeError, "settle_seconds must be a number, got '1' (str)"),
        ({"max_line_bytes": 0}, ValueError, "max_line_bytes must be >= 1, got 0"),
        ({"poll_interval": 0}, ValueError, "poll_interval must be > 0, got 0"),
        ({"poll_interval": float("inf")}, ValueError, "poll_interval must be finite, got inf"),
        ({"settle_seconds": float("inf")}, ValueError, "settle_seconds must be finite, got inf"),
        (
            {"on_bad_file": "delete"},
            ValueError,
            "on_bad_file must be one of 'reject', 'quarantine', got 'delete'",
        ),
        ({"on_bad_row": "drop"}, ValueError, "on_bad_row must be one of 'reject', 'skip', got 'drop'"),
        ({"state_dir": 3}, TypeError, "state_dir must be a path (str or os.PathLike) or None, got 3 (int)"),
        ({"follow_symlinks": 1}, TypeError, "follow_symlinks must be True or False, got 1 (int)"),
        ({"storage": "ssd"}, ValueError, "storage must be one of 'memory', 'disk', got 'ssd'"),
        ({"storage_dir": b"rows"}, TypeError, "storage_dir must be a path (str or os.PathLike) or None"),
        (
            {"parser": "arrow"},
            ValueError,
            "parser must be one of 'auto', 'pandas', 'tensorflow', got 'arrow'",
        ),
    ],
)
def test_every_argument_is_checked_where_it_is_given(folder, kwargs, error, message):
    arguments = {"directory": folder, "label": "price", **kwargs}
    with pytest.raises(error) as raised:
        kgd.GrowingDataCallback(**arguments)
    assert message in str(raised.value)


def test_good_arguments_of_other_types_are_taken(folder, tmp_path):
    write_csv(folder / "a.csv", 4)
    data = kgd.GrowingDataCallback(
        folder,
        label=("price",),
        batch_size=np.int64(2),
        seed=np.int32(1),
        settle_seconds=0,
        storage="disk",
        storage_dir=tmp_path / "rows",
        shuffle=np.bool_(False),
    )
    assert data.poll() == [str(folder / "a.csv")]
    assert [int(x.shape[0]) for x, _ in data.dataset] == [2, 2]


def test_remote_style_folder_through_tf_gfile(tmp_path):
    folder = "ram://remote_bucket/incoming"
    tf.io.gfile.makedirs(folder)
    with tf.io.gfile.GFile(f"{folder}/a.csv", "w") as f:
        f.write("id,x,price\n" + "".join(f"{i},1,2\n" for i in range(12)))
    data = kgd.GrowingDataCallback(
        folder, label="price", batch_size=5, settle_seconds=1.0, state_dir="ram://remote_bucket/state"
    )
    assert data.poll() == []  # No modification time there: the size must stay put first.
    time.sleep(1.05)
    assert data.poll() == [f"{folder}/a.csv"]
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = kgd.GrowingDatasetTrainer(model, data).fit(epochs=1, verbose=0)
    assert history.history["rows"] == [12]
    restored = kgd.GrowingDataCallback(folder, label="price", state_dir="ram://remote_bucket/state")
    assert restored.num_rows == 12


def test_what_users_read_can_be_iterated_while_background_polls_take_files(folder):
    good, bad = 100, 100
    write_csv(folder / "a0000.csv", id_rows(0, 8))
    all_files_landed, done_reading = threading.Event(), threading.Event()
    errors, reads = [], []

    def land_files():
        for i in range(1, good + 1):
            write_csv(folder / f"a{i:04d}.csv", id_rows(8 + 2 * i, 2))
            with open(folder / f"b{i:04d}.csv", "w") as f:
                f.write("id,x,price\n")  # A header alone: rejected.
        all_files_landed.set()

    def read_tightly():
        while not done_reading.is_set():
            try:
                accepted = [record.rows for record in data.accepted.values()]
                rejected = [record.reason for record in data.rejected.values()]
                epochs = [data.lineage[epoch].rows for epoch in data.lineage]
                window = len(data.in_window)
            except RuntimeError as e:  # "dictionary changed size during iteration"
                errors.append(str(e))
            else:
                reads.append((len(accepted), len(rejected), len(epochs), window))

    class WaitForEveryFile(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:  # Only the background polls take files in while the epoch waits.
                all_files_landed.wait(120)
                deadline = time.monotonic() + 120
                while (
                    len(data.accepted) + len(data.rejected) < 1 + good + bad and time.monotonic() < deadline
                ):
                    time.sleep(0.01)

    data = kgd.GrowingDataCallback(folder, label="price", batch_size=8, settle_seconds=0, poll_interval=0.01)
    threads = [threading.Thread(target=land_files), threading.Thread(target=read_tightly)]
    # Threads take turns every 0.1 ms, not 5: more turns inside an iteration, and the polls' many
    # short waits (file reads, TF ops) do not each wait 5 ms for the reader to give the GIL back.
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    for thread in threads:
        thread.start()
    try:
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
        history = kgd.GrowingDatasetTrainer(model, data).fit(
            epochs=3, callbacks=[WaitForEveryFile()], verbose=0
        )
    finally:
        done_reading.set()
        for thread in threads:
            thread.join()
        sys.setswitchinterval(switch_interval)
    assert errors == []
    assert len(reads) > 0
    assert (len(data.accepted), len(data.rejected), len(data.lineage)) == (1 + good, bad, 3)
    assert history.history["rows"][1:] == [8 + 2 * good] * 2


def test_a_vocabulary_asked_for_before_a_file_was_accepted_says_there_is_no_schema_yet(folder):
    data = kgd.GrowingDataCallback(str(folder), label="price", settle_seconds=0, strings_as="index")
    with pytest.raises(ValueError) as error:
        data.vocabulary("city")
    assert str(error.value) == (
        f"There is no schema yet, so no vocabulary of 'city': no file of {str(folder)!r} was accepted so "
        "far (poll() first), and no columns= were declared."
    )
    write_csv(folder / "a.csv", [(1, "Oslo", 3), (2, "Lima", 5)], header=("id", "city", "price"))
    data.poll()
    assert data.vocabulary("city") == ["[UNK]", "Oslo", "Lima"]

import logging
import os
import time

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import OLD, id_rows, write_csv

import keras_growing_data as kgd


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
    write_csv(folder / "short.csv", [(1, 2)])
    (folder / "empty.csv").write_text("")
    os.utime(folder / "empty.csv", (OLD, OLD))
    with caplog.at_level(logging.WARNING, logger="keras_growing_data"):
        data, new = poll_all(folder)
    assert new == [good]
    reasons = {os.path.basename(p): r.reason for p, r in data.rejected.items()}
    assert reasons == {
        "empty.csv": "the file is empty",
        "nolabel.csv": "the header has no label column ['price']; it has ['id', 'x']",
        "other.csv": "the header ['x', 'id', 'price'] differs from the schema ['id', 'x', 'price'] "
        "set by the first accepted file",
        "short.csv": "line 2: expected 3 fields, found 2",
        "text.csv": "line 2, column 'x': expected a number, found 'n/a'",
    }
    assert sum("Rejected" in r.message for r in caplog.records) == 5
    assert data.num_rows == 6


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
    data, _ = poll_all(folder)
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
    x, (qty, price) = next(iter(several.dataset))
    np.testing.assert_array_equal(x.numpy(), [[1, 2]])
    assert (qty.numpy().tolist(), price.numpy().tolist()) == ([4.0], [3.0])
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


def test_invalid_arguments_fail_early(folder):
    with pytest.raises(ValueError, match="batch_size"):
        kgd.GrowingDataCallback(str(folder), label="price", batch_size=0)
    with pytest.raises(ValueError, match="label"):
        kgd.GrowingDataCallback(str(folder), label=[1])
    with pytest.raises(ValueError, match="settle_seconds"):
        kgd.GrowingDataCallback(str(folder), label="price", settle_seconds=-1)


def test_remote_style_folder_through_tf_gfile(tmp_path):
    folder = "ram://remote_bucket/incoming"
    tf.io.gfile.makedirs(folder)
    with tf.io.gfile.GFile(f"{folder}/a.csv", "w") as f:
        f.write("id,x,price\n" + "".join(f"{i},1,2\n" for i in range(12)))
    data = kgd.GrowingDataCallback(
        folder, label="price", batch_size=5, settle_seconds=0.2, state_dir="ram://remote_bucket/state"
    )
    assert data.poll() == []  # No modification time there: the size must stay put first.
    time.sleep(0.25)
    assert data.poll() == [f"{folder}/a.csv"]
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    history = kgd.GrowingDatasetTrainer(model, data).fit(epochs=1, verbose=0)
    assert history.history["rows"] == [12]
    restored = kgd.GrowingDataCallback(folder, label="price", state_dir="ram://remote_bucket/state")
    assert restored.num_rows == 12

import json
import os
import re
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
from helpers import OLD, TENSORFLOW_ONLY, id_rows, mixed_rows, run_python, write_csv, write_mixed_csv

import keras_growing_data as kgd
from keras_growing_data.cli.main import main
from keras_growing_data.training.default_model import default_model


def write_labelled(path, labels, features=2, seed=0):
    rng = np.random.default_rng(seed)
    header = [f"f{i}" for i in range(features)] + ["y"]
    rows = [(*np.round(rng.normal(size=features), 4), label) for label in labels]
    return write_csv(path, rows, header=header)


# status


def test_status_lists_accepted_pending_and_rejected_files(folder, capsys):
    write_csv(folder / "a.csv", 10)
    write_csv(folder / "b.csv", 5)
    write_csv(folder / "bad.csv", [(1, "n/a", 3)])
    write_csv(folder / "new.csv", 3, mtime=None)  # Written just now: not settled.
    (folder / "notes.txt").write_text("not a csv")
    code = main(["status", str(folder), "--label", "price", "--settle-seconds", "60"])
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert code == 1
    pending = os.path.getsize(folder / "new.csv")
    assert lines[0] == f"{folder}: 2 accepted (15 rows), 1 pending ({pending} bytes), 1 rejected"
    assert lines[1:3] == ["accepted  a.csv    10 rows", "accepted  b.csv    5 rows"]
    modified = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.stat(folder / "new.csv").st_mtime))
    assert lines[3] == f"pending   new.csv  29 bytes, modified {modified}"
    assert (
        lines[4]
        == "rejected  bad.csv  line 2, column 'x': missing value 'n/a', and the column has no default"
    )
    assert len(lines) == 5
    assert err == ""


def test_status_of_a_healthy_folder_exits_zero_and_honours_the_pattern(folder, capsys):
    write_csv(folder / "a.csv", 4)
    write_csv(folder / "b.data", 6)
    write_csv(folder / "bad.csv", [(1, "x", 3)])
    assert main(["status", str(folder), "--label", "price", "--pattern", "*.data"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{folder}: 1 accepted (6 rows), 0 pending, 0 rejected",
        "accepted  b.data  6 rows",
    ]


def test_status_without_a_label_checks_only_the_numbers(folder, capsys):
    write_csv(folder / "a.csv", 3, header=("a", "b", "c"))
    assert main(["status", str(folder)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"{folder}: 1 accepted (3 rows), 0 pending, 0 rejected"
    assert main(["status", str(folder), "--label", "price"]) == 1
    assert "the header has no label column ['price']" in capsys.readouterr().out


def test_status_of_a_missing_folder_is_an_error(tmp_path, capsys):
    assert main(["status", str(tmp_path / "nowhere")]) == 2
    _, err = capsys.readouterr()
    assert err.startswith("keras-growing-data status: error: The folder ")
    assert "nowhere" in err


def test_status_reads_the_state_dir_of_a_run(folder, tmp_path, capsys):
    state = tmp_path / "state"
    write_csv(folder / "a.csv", 7)
    assert main(["status", str(folder), "--state-dir", str(state)]) == 2
    assert "No saved state in" in capsys.readouterr().err
    assert not state.exists(), "status must not write to a run's state folder"
    run = kgd.GrowingDataCallback(folder, label="price", settle_seconds=0, state_dir=str(state))
    assert run.poll() == [str(folder / "a.csv")]
    os.remove(folder / "a.csv")  # The run keeps its rows; a fresh look finds nothing.
    assert main(["status", str(folder), "--label", "price"]) == 0
    assert capsys.readouterr().out.splitlines() == [f"{folder}: 0 accepted (0 rows), 0 pending, 0 rejected"]
    assert main(["status", str(folder), "--label", "price", "--state-dir", str(state)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{folder}: 1 accepted (7 rows), 0 pending, 0 rejected",
        "accepted  a.csv  7 rows",
    ]
    write_csv(folder / "b.csv", 2)  # Landed after the run's last poll.
    assert main(["status", str(folder), "--state-dir", str(state)]) == 0
    pending = os.path.getsize(folder / "b.csv")
    first = f"{folder}: 1 accepted (7 rows), 1 pending ({pending} bytes), 0 rejected"
    assert capsys.readouterr().out.splitlines()[0] == first
    assert sorted(p.name for p in state.iterdir()) == ["lock", "rows", "state.json"]


def test_status_gives_one_answer_for_every_spelling_of_a_folder(folder, tmp_path, monkeypatch, capsys):
    write_csv(folder / "a.csv", 2)
    write_csv(folder / "bad.csv", [(1, "x", 3)])
    expected = [
        f"{folder}: 1 accepted (2 rows), 0 pending, 1 rejected",
        "accepted  a.csv    2 rows",
        "rejected  bad.csv  line 2, column 'x': expected a number, found 'x'",
    ]
    monkeypatch.chdir(tmp_path)
    for spelling in ["incoming", "incoming/", "./incoming", "./incoming/", str(folder), f"{folder}/"]:
        assert main(["status", spelling, "--label", "price"]) == 1
        assert capsys.readouterr().out.splitlines() == expected, spelling
    monkeypatch.chdir(folder)
    assert main(["status", ".", "--label", "price"]) == 1
    assert capsys.readouterr().out.splitlines() == expected


def test_status_reads_a_relative_state_dir_and_refuses_another_folders(folder, tmp_path, monkeypatch, capsys):
    write_csv(folder / "a.csv", 3)
    write_csv(folder / "b.csv", 4)
    run = kgd.GrowingDataCallback(folder, label="price", settle_seconds=0, state_dir=tmp_path / "state")
    assert len(run.poll()) == 2
    monkeypatch.chdir(tmp_path)
    for spelling in ["incoming", "./incoming/", str(folder)]:
        assert main(["status", spelling, "--state-dir", "state"]) == 0
        assert capsys.readouterr().out.splitlines() == [
            f"{folder}: 2 accepted (7 rows), 0 pending, 0 rejected",
            "accepted  a.csv  3 rows",
            "accepted  b.csv  4 rows",
        ]
    (tmp_path / "other").mkdir()
    assert main(["status", "other", "--state-dir", "state"]) == 2
    err = capsys.readouterr().err
    assert f"'state' holds the state of a run on '{folder}', not '{tmp_path / 'other'}'" in err


def test_python_dash_m_runs_the_command_line_quietly(folder):
    write_csv(folder / "a.csv", 2)
    write_csv(folder / "z.csv", [(1, 2)])
    write_csv(folder / "y.csv", [(1, "zz", 2)])  # TensorFlow logs its failed parse in C++.
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-m", "keras_growing_data", "status", str(folder), "--label", "price"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"{folder}: 1 accepted (2 rows), 0 pending, 2 rejected",
        "accepted  a.csv  2 rows",
        "rejected  y.csv  line 2, column 'x': expected a number, found 'zz'",
        "rejected  z.csv  line 2: expected 3 fields, found 2",
    ]
    assert result.stderr == ""


def test_train_shows_only_the_warnings_meant_and_more_with_verbose(folder):
    write_csv(folder / "a.csv", 16)
    write_csv(folder / "y.csv", [(1, "zz", 2)])
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    args = ["train", str(folder), "--label", "price", "--epochs", "1", "--verbose", "0"]
    quiet, verbose = (
        subprocess.run(
            [sys.executable, "-m", "keras_growing_data", *flags, *args],
            capture_output=True,
            text=True,
            timeout=300,
            env=env,
        )
        for flags in ([], ["--verbose"])
    )
    assert quiet.returncode == verbose.returncode == 0, quiet.stderr + verbose.stderr
    assert quiet.stderr.splitlines() == [
        "WARNING: Rejected y.csv: line 2, column 'x': expected a number, found 'zz'"
    ]
    assert "INFO: Accepted a.csv: 16 rows" in verbose.stderr
    assert len(verbose.stderr.splitlines()) > 2


HELP_WITHOUT_TENSORFLOW = """
import contextlib, io, json
from keras_growing_data.cli.main import main

calls = [["--help"], ["--version"], ["train", "--help"], ["train", "x"], ["status", ".", "--bogus"],
         ["train", sys.argv[1], "--label", "y"], ["demo", "--epochs", "0"],
         ["train", ".", "--label", "y", "--seed", "-1"], ["status", ".", "--pattern", ""],
         ["train", ".", "--label", " y"]]
codes = []
for argv in calls:
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()) as err:
        codes.append(main(argv))
    print(err.getvalue().strip().splitlines()[-1:], file=sys.stderr)
print(json.dumps([codes, sorted(m for m in ("tensorflow", "keras", "numpy") if m in sys.modules)]))
"""


def test_the_train_command_does_not_import_the_demo(tmp_path):
    source = (
        "import keras_growing_data.cli.train\n"
        "print(sorted(m for m in sys.modules if m.startswith('keras_growing_data.demo')))\n"
    )
    run = run_python(tmp_path, source)
    assert run.returncode == 0, run.stderr.decode()
    assert run.stdout.decode().splitlines()[-1] == "[]"


def test_help_version_and_wrong_arguments_answer_without_importing_tensorflow(tmp_path):
    run = run_python(tmp_path, HELP_WITHOUT_TENSORFLOW, tmp_path / "missing")
    assert run.returncode == 0, run.stderr.decode()
    assert json.loads(run.stdout.decode().splitlines()[-1]) == [[0, 0, 0, 2, 2, 2, 2, 2, 2, 2], []]
    err = run.stderr.decode().splitlines()
    assert "the following arguments are required: --label" in err[3]
    assert "unrecognized arguments: --bogus" in err[4]
    assert f"error: The folder '{tmp_path / 'missing'}' does not exist." in err[5]
    assert "argument --epochs: must be >= 1, got 0" in err[6]
    assert "argument --seed: must be >= 0, got -1" in err[7]
    assert "argument --pattern: pattern must not be empty" in err[8]
    assert "argument --label: label ' y' has spaces around it" in err[9]


# demo


def test_demo_command_trains_prints_and_writes_the_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "demo.png"
    assert main(["demo", "--epochs", "2", "--data", "synthetic", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "growth at epoch 2: +1 file, +300 rows -> 600 rows from 2 files" in printed
    assert "Epoch 2/2" in printed  # Keras's progress bar.
    assert printed.rstrip().endswith(f"Plot of loss and dataset size per epoch: {out}")
    assert out.read_bytes()[:4] == b"\x89PNG"


# train


def test_train_picks_classification_for_small_integer_labels_and_saves(folder, tmp_path, capsys):
    write_labelled(folder / "a.csv", [0, 1, 2] * 20)
    saved = tmp_path / "model.keras"
    args = ["train", str(folder), "--label", "y", "--epochs", "2", "--seed", "0", "--verbose", "0"]
    assert main([*args, "--save", str(saved)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        f"Watching {folder} for '*.csv', '*.jsonl' or '*.ndjson' (each plain or .gz, .bz2, .xz) "
        "or '*.parquet' files with label column 'y'."
    )
    assert lines[1] == (
        "Label 'y' holds integers 0..2: classification into 3 classes "
        "(softmax output, sparse categorical cross-entropy)."
    )
    assert lines[2] == "growth at epoch 1: +1 file, +60 rows -> 60 rows from 1 file"
    assert lines[3].split() == ["epoch", "rows", "files", "loss"]
    assert [line.split()[:3] for line in lines[4:6]] == [["1", "60", "1"], ["2", "60", "1"]]
    assert lines[6] == f"Saved the model to {saved}"
    model = keras.models.load_model(saved)
    probabilities = model.predict({"f0": np.zeros(4, "float32"), "f1": np.zeros(4, "float32")}, verbose=0)
    assert probabilities.shape == (4, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)


# Loads the saved model with Keras alone; predicts on raw values and, through the trained model
# inside it, on the served batch that the test saved.
PREDICT_ON_RAW_AND_SERVED = """
import sys
import keras
import numpy as np

model = keras.saving.load_model(sys.argv[1])
served = dict(np.load(sys.argv[2]))
raw = {**served, "city": np.array(sys.argv[3].split("|"), dtype=object)}  # The numbers as they are.
np.save(sys.argv[4], model.predict(raw, verbose=0))
np.save(sys.argv[5], model.get_layer("default_model").predict(served, verbose=0))
print("keras_growing_data imported:", "keras_growing_data" in sys.modules)
"""


@TENSORFLOW_ONLY
def test_train_saves_a_model_that_predicts_on_raw_values_in_a_fresh_process(folder, tmp_path):
    rows = mixed_rows(0, 60, cities=4)
    write_mixed_csv(folder / "a.csv", rows)
    saved = tmp_path / "model.keras"
    args = ["train", str(folder), "--label", "price", "--epochs", "2", "--seed", "0", "--verbose", "0"]
    assert main([*args, "--save", str(saved)]) == 0
    # The batch `train` served: string columns as ids.
    data = kgd.GrowingDataCallback(str(folder), "price", batch_size=100, shuffle=False, strings_as="index")
    data.poll()
    x, _ = next(iter(data.build_dataset(shuffle=False)))
    np.savez(tmp_path / "served.npz", **{name: x[name].numpy() for name in ("id", "area", "rooms", "city")})
    cities = "|".join(row[1] for row in rows)

    done = run_python(
        tmp_path,
        PREDICT_ON_RAW_AND_SERVED,
        saved,
        tmp_path / "served.npz",
        cities,
        *(tmp_path / n for n in "rs"),
    )

    assert done.returncode == 0, done.stderr.decode()[-3000:]
    assert done.stdout.decode().splitlines()[-1] == "keras_growing_data imported: False"
    on_raw, on_served = np.load(tmp_path / "r.npy"), np.load(tmp_path / "s.npy")
    assert on_raw.shape == (60, 1) and len(np.unique(np.round(on_served, 3))) > 5
    np.testing.assert_allclose(on_raw, on_served, rtol=1e-6, atol=1e-6)


def test_train_picks_regression_for_real_labels_and_plots(folder, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    write_labelled(folder / "a.csv", np.linspace(100, 200, 50))
    plot = tmp_path / "growth.png"
    args = ["train", str(folder), "--label", "y", "--epochs", "1", "--verbose", "0", "--plot", str(plot)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "Label 'y' holds real values (mean 150, std 29.45): regression" in out
    assert out.splitlines()[-1] == f"Plot of loss and dataset size per epoch: {plot}"
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_status_and_train_take_mixed_files_with_string_columns(folder, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    write_mixed_csv(folder / "a.csv", mixed_rows(0, 60))
    write_mixed_csv(folder / "b.csv", mixed_rows(60, 30, cities=5))
    assert main(["status", str(folder), "--label", "price"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [f"{folder}: 2 accepted (90 rows), 0 pending, 0 rejected", "accepted  a.csv  60 rows",
                     "accepted  b.csv  30 rows"]  # fmt: skip
    plot = tmp_path / "growth.png"
    args = ["train", str(folder), "--label", "city", "--epochs", "2", "--verbose", "0", "--plot", str(plot)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert (
        "Label 'city' holds 5 strings so far: classification into 22 class ids, with room for new ones" in out
    )
    assert plot.read_bytes()[:4] == b"\x89PNG"
    assert main(["train", str(folder), "--label", "price", "--epochs", "1", "--verbose", "0"]) == 0
    assert "regression" in capsys.readouterr().out


def test_train_stops_after_idle_epochs(folder, capsys):
    write_csv(folder / "a.csv", 24)
    args = ["train", str(folder), "--label", "price", "--epochs", "50", "--stop-after-idle", "2"]
    assert main([*args, "--verbose", "0", "--task", "regression"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "No new rows for 2 epochs: stopping after epoch 3." in lines
    table = lines[lines.index("No new rows for 2 epochs: stopping after epoch 3.") + 1 :]
    assert [row.split()[:3] for row in table[1:]] == [["1", "24", "1"], ["2", "24", "1"], ["3", "24", "1"]]
    assert main(["train", str(folder), "--label", "price", "--stop-after-idle", "0"]) == 2
    assert "error: argument --stop-after-idle: must be >= 1, got 0" in capsys.readouterr().err


def test_train_stops_after_idle_seconds(folder, capsys):
    write_csv(folder / "a.csv", 24)
    args = ["train", str(folder), "--label", "price", "--epochs", "100000", "--verbose", "0"]
    start = time.monotonic()
    assert main([*args, "--task", "regression", "--stop-after-idle-seconds", "1.5"]) == 0
    assert time.monotonic() - start >= 1.5
    lines = capsys.readouterr().out.splitlines()
    [said] = [line for line in lines if line.startswith("No new rows for ")]
    seconds, epoch = re.fullmatch(r"No new rows for ([\d.]+) s: stopping after epoch (\d+)\.", said).groups()
    assert float(seconds) >= 1.5
    assert 2 <= int(epoch) < 100000
    assert "--stop-after-idle-seconds S" in _help(["train", "--help"], capsys)


def test_train_validates_on_a_validation_folder(folder, tmp_path, capsys):
    val = tmp_path / "val"
    val.mkdir()
    write_labelled(folder / "a.csv", [0, 1] * 16)
    write_labelled(val / "v.csv", [1, 0] * 4, seed=1)
    args = ["train", str(folder), "--label", "y", "--epochs", "1", "--verbose", "0"]
    assert main([*args, "--validation-folder", str(val)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == "Label 'y' holds integers 0..1: classification into 2 classes " + (
        "(sigmoid output, binary cross-entropy)."
    )
    assert lines[3].split() == ["epoch", "rows", "files", "loss", "val_loss"]


def test_train_on_a_folder_whose_files_were_all_rejected_says_so_first(folder, capsys):
    write_csv(folder / "bad.csv", [(1, "", 2)])
    assert main(["train", str(folder), "--label", "price"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "WARNING: Rejected bad.csv: line 2, column 'x': missing value '', and the column has no default",
        f"keras-growing-data train: error: No training rows in '{folder}': 1 file was rejected, "
        "bad.csv: line 2, column 'x': missing value '', and the column has no default",
    ]
    write_csv(folder / "worse.csv", [(1, 2)])
    assert main(["train", str(folder), "--label", "price"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[2:] == [
        f"keras-growing-data train: error: No training rows in '{folder}': 2 files were rejected, "
        "the first bad.csv: line 2, column 'x': missing value '', and the column has no default",
        "  rejected worse.csv: line 2: expected 3 fields, found 2",
    ]


def test_train_on_an_empty_folder_names_the_option_to_wait(folder, capsys):
    assert main(["train", str(folder), "--label", "price"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"keras-growing-data train: error: No training rows in '{folder}': "
        "no file matches '*.csv', '*.jsonl' or '*.ndjson' (each plain or .gz, .bz2, .xz) or '*.parquet' yet; "
        "pass --wait-for-data SECONDS to wait for the first files."
    ]
    write_csv(folder / "new.csv", 3, mtime=None)  # Written just now: not settled.
    assert main(["train", str(folder), "--label", "price", "--settle-seconds", "600"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"keras-growing-data train: error: No training rows in '{folder}': 1 file is still being written "
        "(not settled yet); pass --wait-for-data SECONDS to wait for it."
    ]


def test_train_waits_for_the_first_file(folder, capsys):
    import threading

    timer = threading.Timer(0.5, lambda: write_csv(folder / "late.csv", 8))
    timer.start()
    args = ["train", str(folder), "--label", "price", "--epochs", "1", "--verbose", "0"]
    start = time.monotonic()
    assert main([*args, "--wait-for-data", "600", "--settle-seconds", "0"]) == 0
    timer.join()
    assert time.monotonic() - start < 600  # Returned once the file came, not at the deadline.
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == f"Waiting up to 600 s for the first file in {folder}..."


# The pieces the train command is made of.


def polled(folder, **kwargs):
    data = kgd.GrowingDataCallback(folder, settle_seconds=0, **kwargs)
    data.poll()
    return data


def test_default_model_output_follows_the_task(folder):
    write_labelled(folder / "c.csv", [0, 1, 1, 0, 1, 0])
    binary = default_model(polled(folder, label="y"), print_fn=None)
    assert binary.output_shape == (None, 1)
    assert binary.layers[-1].activation.__name__ == "sigmoid"
    assert binary.loss == "binary_crossentropy"
    forced = default_model(polled(folder, label="y"), task="regression", print_fn=None)
    assert forced.loss == "mse"
    write_labelled(folder / "c.csv", [0.5, 1, 2, 3, 4, 5])
    with pytest.raises(ValueError, match="not class indices"):
        default_model(polled(folder, label="y"), task="classification", print_fn=None)
    write_labelled(folder / "c.csv", [0, 5, 25, 7, 3, 1])
    said = []
    default_model(polled(folder, label="y"), print_fn=said.append)
    assert said[0].startswith("Label 'y' holds real values"), "25 classes or more: a regression"


def test_default_model_scales_features_and_regression_output(folder):
    rows = [(1000.0 + i, 5.0, 50_000.0 + 1000 * i) for i in range(20)]  # f1 is constant so far.
    write_csv(folder / "a.csv", rows, header=("f0", "f1", "y"))
    model = default_model(polled(folder, label="y"), print_fn=None)
    normalization = model.layers[1]
    np.testing.assert_allclose(normalization.mean.numpy().ravel(), [1009.5, 5.0])
    np.testing.assert_allclose(normalization.variance.numpy().ravel(), [33.25, 1.0])
    # Untrained, the output is the label's mean plus a few of its standard deviations.
    prediction = model.predict(np.array([[1009.5, 5.0], [1009.5, 6.0]], "float32"), verbose=0)
    assert np.all(np.abs(prediction - 59_500) < 5 * 5766.3)


def test_default_model_needs_one_label_and_rows(folder):
    with pytest.raises(ValueError, match="No rows accepted yet"):
        default_model(polled(folder, label="price"))
    write_csv(folder / "a.csv", 4)
    with pytest.raises(ValueError, match="exactly one label column"):
        default_model(polled(folder, label=["price", "x"]))
    with pytest.raises(ValueError, match="task must be"):
        default_model(polled(folder, label="price"), task="ranking")


def _help(argv, capsys) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


def test_train_waits_for_a_folder_that_appears_later(tmp_path, capsys):
    import threading

    later = tmp_path / "later"

    def land():
        later.mkdir()
        write_csv(later / "a.csv", 8)

    timer = threading.Timer(0.5, land)
    timer.start()
    args = ["train", str(later), "--label", "price", "--epochs", "1", "--verbose", "0"]
    assert main([*args, "--wait-for-data", "600", "--settle-seconds", "0"]) == 0
    timer.join()
    assert "growth at epoch 1: +1 file, +8 rows -> 8 rows from 1 file" in capsys.readouterr().out


def test_status_prints_a_file_name_that_is_not_utf8_escaped(folder):
    write_csv(folder / "a.csv", 2)
    name = os.path.join(os.fsencode(folder), b"caf\xe9.csv")
    with open(name, "wb") as f:
        f.write(b"id,x,price\n1,oops,3\n")
    os.utime(name, (1e9, 1e9))
    result = subprocess.run(
        [sys.executable, "-m", "keras_growing_data", "status", str(folder), "--label", "price"],
        capture_output=True,
        timeout=300,
        env={**os.environ, "PYTHONIOENCODING": "utf-8"},  # strict, as a pipe to a log is
    )
    assert result.returncode == 1, result.stderr.decode()[-2000:]
    assert result.stdout.decode().splitlines() == [
        f"{folder}: 1 accepted (2 rows), 0 pending, 1 rejected",
        "accepted  a.csv        2 rows",
        "rejected  caf\\xe9.csv  line 2, column 'x': expected a number, found 'oops'",
    ]


def test_status_of_a_tree_shows_paths_from_the_folder(folder, capsys):
    (folder / "dt=1").mkdir()
    write_csv(folder / "dt=1" / "a.csv", 2)
    write_csv(folder / "b.csv", 1)
    assert main(["status", str(folder), "--label", "price", "--recursive", "--partition-columns"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{folder}: 2 accepted (3 rows), 0 pending, 0 rejected",
        "accepted  b.csv       1 rows",
        "accepted  dt=1/a.csv  2 rows",
    ]


def test_train_tails_growing_files_and_trains_on_a_window(folder, capsys):
    write_csv(folder / "a.csv", id_rows(0, 4), mtime=OLD)
    write_csv(folder / "b.csv", id_rows(4, 6), mtime=OLD + 1)
    args = ["train", str(folder), "--label", "price", "--epochs", "1", "--verbose", "0"]
    assert main([*args, "--settle-seconds", "0", "--appends", "tail", "--window-files", "1"]) == 0
    assert (
        "growth at epoch 1: +2 files, 1 file left, +6 rows -> 6 rows from 1 file" in capsys.readouterr().out
    )
    assert main([*args, "--window-rows", "0"]) == 2
    assert "argument --window-rows: must be >= 1, got 0" in capsys.readouterr().err

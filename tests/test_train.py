"""`keras-growing-data train` on real tables: reading options from a config file, files named by path."""

import json

from helpers import OLD, write_csv

from keras_growing_data.cli.main import main

HEADER = ("id", "x", "city", "price")
DAYS = ["dt=2026-12-01/part-0.csv", "dt=2026-12-02/part-0.csv"]
MISSING = "line 3, column 'x': missing value '', and the column has no default"


def write_days_with_gaps(folder):
    """Two days of `part-0.csv`, each with an empty `x` on line 3, and a string column `city`."""
    for number, name in enumerate(DAYS):
        (folder / name).parent.mkdir(parents=True)
        rows = [(5 * number + i, "" if i == 1 else i, ["Oslo", "Lima"][i % 2], 2 * i + 1) for i in range(5)]
        write_csv(folder / name, rows, header=HEADER, mtime=OLD + number)


def test_train_names_same_named_files_by_their_path_in_the_folder(folder, capsys):
    write_days_with_gaps(folder)
    assert main(["train", str(folder), "--label", "price", "--recursive"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        f"WARNING: Rejected {DAYS[0]}: {MISSING}",
        f"WARNING: Rejected {DAYS[1]}: {MISSING}",
        f"keras-growing-data train: error: No training rows in '{folder}': 2 files were rejected, "
        f"the first {DAYS[0]}: {MISSING}",
        f"  rejected {DAYS[1]}: {MISSING}",
    ]


def test_train_reads_a_table_with_gaps_and_strings_with_the_options_of_its_config(folder, tmp_path, capsys):
    write_days_with_gaps(folder)
    validation = tmp_path / "validation"
    write_days_with_gaps(validation)
    config = tmp_path / "run.json"
    config.write_text(json.dumps({"label": "price", "recursive": True, "defaults": {"x": 0.0}, "seed": 0}))
    args = ["train", str(folder), "--config", str(config), "--epochs", "2", "--verbose", "0"]
    assert main([*args, "--validation-folder", str(validation)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == (
        f"Watching {folder} and its sub-folders for '*.csv', '*.jsonl' or '*.ndjson' "
        "(each plain or .gz, .bz2, .xz) or '*.parquet' files "
        "with label column 'price'."
    )
    assert lines[2] == "growth at epoch 1: +2 files, +10 rows -> 10 rows from 2 files"
    assert lines[3].split() == ["epoch", "rows", "files", "loss", "val_loss"]
    assert [line.split()[:3] for line in lines[4:6]] == [["1", "10", "2"], ["2", "10", "2"]]


def test_train_needs_a_label_from_its_options_or_its_config(folder, tmp_path, capsys):
    config = tmp_path / "run.json"
    config.write_text(json.dumps({"recursive": True}))
    assert main(["train", str(folder), "--config", str(config)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "keras-growing-data train: error: the following arguments are required: --label "
        "(or a label in the --config file)"
    ]

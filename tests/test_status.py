"""`keras-growing-data status` judges a folder as a training run with the same options does."""

import json
import re

import pytest
from helpers import OLD, write_csv

import keras_growing_data as kgd
from keras_growing_data.cli.main import main

HEADER = ("id", "x", "city", "price")
DAYS = [f"dt=2026-12-0{day}/part-0.csv" for day in range(1, 6)]


def write_tree(folder):
    """Five days of `part-0.csv`: a gap, a good day, a fraction in `id`, a short line, no label column."""
    days = [
        [(0, 1, "Oslo", 3), (1, "", "Lima", 3), (2, 2, "Oslo", 5), (3, 3, "Lima", 7), (4, 4, "Oslo", 9)],
        [(i, i % 3, "Lima", 2 * (i % 3) + 1) for i in range(5, 10)],
        [(7.5, 1, "Oslo", 3), (8, 1, "Lima", 3)],
        [(9, 1, "Oslo"), (10, 1, "Oslo", 3)],
        [(11, 1, "Oslo")],
    ]
    for number, (name, rows) in enumerate(zip(DAYS, days, strict=True)):
        (folder / name).parent.mkdir()
        header = HEADER if number < 4 else HEADER[:3]
        write_csv(folder / name, rows, header=header, mtime=OLD + number)  # The first day sets the schema.


def status_lines(capsys, folder, *options):
    """Runs `status`; returns its exit code and `{path in folder: (verdict, note)}`."""
    code = main(["status", str(folder), *options])
    lines = capsys.readouterr().out.splitlines()
    return code, {
        name: (state, note)
        for state, name, note in (re.split(r" {2,}", line, maxsplit=2) for line in lines[1:])
    }


def python_verdicts(folder, **options):
    """`{path in folder: (verdict, note)}` of a first poll of `GrowingDataCallback`, as status writes them."""
    data = kgd.GrowingDataCallback(folder, **options)
    data.poll()
    table = {}
    for path, record in data.accepted.items():
        skipped = f", {len(record.skipped)} bad rows skipped" if record.skipped else ""
        table[data.watcher.relative(path)] = ("accepted", f"{record.rows} rows{skipped}")
    for path, record in data.rejected.items():
        table[data.watcher.relative(path)] = ("rejected", record.reason)
    return table


LONG_FIELDS = "line 2: expected 4 fields, found 3"
NO_LABEL = "the header has no label column ['price']; it has ['id', 'x', 'city']"

# Each config, and what a run with it (and status) makes of the five days.
CONFIGS = {
    "gaps_filled_by_defaults": (
        {"label": "price", "recursive": True, "defaults": {"x": 0.0}},
        {
            DAYS[0]: ("accepted", "5 rows"),
            DAYS[1]: ("accepted", "5 rows"),
            DAYS[2]: ("accepted", "2 rows"),
            DAYS[3]: ("rejected", LONG_FIELDS),
            DAYS[4]: ("rejected", NO_LABEL),
        },
    ),
    "bad_rows_skipped": (
        {"label": "price", "recursive": True, "on_bad_row": "skip"},
        {
            DAYS[0]: ("accepted", "4 rows, 1 bad rows skipped"),
            DAYS[1]: ("accepted", "5 rows"),
            DAYS[2]: ("accepted", "2 rows"),
            DAYS[3]: ("accepted", "1 rows, 1 bad rows skipped"),
            DAYS[4]: ("rejected", NO_LABEL),
        },
    ),
    "declared_columns": (
        {
            "label": "price",
            "recursive": True,
            "columns": {"id": "int64", "city": "string", "price": "float32"},
        },
        {
            DAYS[0]: ("accepted", "5 rows"),  # Its gap is in x, which is not read.
            DAYS[1]: ("accepted", "5 rows"),
            DAYS[2]: ("rejected", "line 2, column 'id': expected an integer (int64), found '7.5'"),
            DAYS[3]: ("rejected", LONG_FIELDS),
            DAYS[4]: ("rejected", NO_LABEL),
        },
    ),
}


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_status_with_a_config_file_judges_every_file_as_the_run_does(folder, tmp_path, name, capsys):
    config, expected = CONFIGS[name]
    write_tree(folder)
    path = tmp_path / "run.json"
    path.write_text(json.dumps(config))
    run = python_verdicts(folder, **json.loads(path.read_text()))
    assert run == expected
    code, table = status_lines(capsys, folder, "--config", str(path))
    assert table == run
    assert code == 1


def test_status_of_a_folder_with_gaps_exits_zero_with_the_defaults_the_run_has(folder, tmp_path, capsys):
    write_tree(folder)
    for day in DAYS[2:]:
        (folder / day).unlink()
    code, table = status_lines(capsys, folder, "--label", "price", "--recursive")
    missing = "line 3, column 'x': missing value '', and the column has no default"
    assert (code, table) == (1, {DAYS[0]: ("rejected", missing), DAYS[1]: ("accepted", "5 rows")})
    toml = tmp_path / "run.toml"
    toml.write_text('label = "price"\nrecursive = true\n\n[defaults]\nx = 0.0\n')
    whole = {DAYS[0]: ("accepted", "5 rows"), DAYS[1]: ("accepted", "5 rows")}
    assert python_verdicts(folder, label="price", recursive=True, defaults={"x": 0.0}) == whole
    assert status_lines(capsys, folder, "--config", str(toml)) == (0, whole)


def test_status_options_win_over_the_config_file_and_give_what_the_run_gets(folder, tmp_path, capsys):
    write_tree(folder)
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"label": "price", "on_bad_row": "reject", "recursive": False}))
    code, table = status_lines(capsys, folder, "--config", str(path), "--on-bad-row", "skip", "--recursive")
    assert table == python_verdicts(folder, label="price", on_bad_row="skip", recursive=True)
    assert table == CONFIGS["bad_rows_skipped"][1]
    assert code == 1
    assert status_lines(capsys, folder, "--config", str(path)) == (
        0,
        {},
    )  # Not recursive: no file at the top.


def test_status_never_writes_the_runs_storage_nor_moves_its_files(folder, tmp_path, capsys):
    write_tree(folder)
    storage = tmp_path / "storage"
    storage.mkdir()
    config = {
        "label": "price",
        "recursive": True,
        "on_bad_file": "quarantine",
        "storage": "disk",
        "storage_dir": str(storage),
        "poll_interval": 5,
    }
    path = tmp_path / "run.json"
    path.write_text(json.dumps(config))
    code, table = status_lines(capsys, folder, "--config", str(path))
    assert code == 1
    assert [name for name, (verdict, _) in table.items() if verdict == "rejected"] == [
        DAYS[0],
        DAYS[3],
        DAYS[4],
    ]
    assert not (folder / "_rejected").exists()
    assert list(storage.iterdir()) == []


def test_status_reads_the_state_dir_of_the_config(folder, tmp_path, capsys):
    write_tree(folder)
    state = tmp_path / "state"
    config = {"label": "price", "recursive": True, "defaults": {"x": 0.0}, "state_dir": str(state)}
    path = tmp_path / "run.json"
    path.write_text(json.dumps(config))
    assert main(["status", str(folder), "--config", str(path)]) == 2
    assert "No saved state in" in capsys.readouterr().err
    run = kgd.GrowingDataCallback(folder, **config)
    assert len(run.poll()) == 3
    (folder / DAYS[1]).unlink()  # The run keeps its rows; its records say so, a fresh look would not.
    code, table = status_lines(capsys, folder, "--config", str(path))
    assert code == 1
    assert table == CONFIGS["gaps_filled_by_defaults"][1]


def test_status_names_same_named_files_by_their_path_in_the_folder(folder, capsys):
    write_tree(folder)
    assert main(["status", str(folder), "--label", "price", "--recursive"]) == 1
    assert [line.split()[:2] for line in capsys.readouterr().out.splitlines()[1:]] == [
        ["accepted", DAYS[1]],
        ["accepted", DAYS[2]],
        ["rejected", DAYS[0]],
        ["rejected", DAYS[3]],
        ["rejected", DAYS[4]],
    ]


def test_a_wrong_value_in_the_config_file_is_an_error_that_names_it(folder, tmp_path, capsys):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"batch_size": "32"}))
    assert main(["status", str(folder), "--config", str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "keras-growing-data status: error: batch_size must be an integer, got '32' (str)."
    ]
    path.write_text(json.dumps({"on_bad_row": "drop"}))
    assert main(["status", str(folder), "--config", str(path)]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "keras-growing-data status: error: on_bad_row must be one of 'reject', 'skip', got 'drop'."
    ]

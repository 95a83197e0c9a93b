"""Every error of the package is a `GrowingDataError` and keeps its built-in base."""

import inspect

import pytest
from helpers import counting_model, write_csv

import keras_growing_data as kgd
from keras_growing_data import errors
from keras_growing_data.distribute.snapshot import SnapshotFolder
from keras_growing_data.formats.csv.csv_format import CsvFormat
from keras_growing_data.sources.records import RejectedFile

BUILT_IN_BASE = {
    "BadFileError": ValueError,
    "BadValueError": ValueError,
    "DamagedStateError": ValueError,
    "NoDataRowsError": ValueError,
    "NoRowsError": ValueError,
    "SnapshotError": RuntimeError,
    "SnapshotTimeoutError": TimeoutError,
    "StorageWriteError": RuntimeError,
    "TruncatedArchiveError": ValueError,
    "UnfinishedFileError": ValueError,
    "UnreadableFileError": OSError,
    "UnwritableStateError": OSError,
    "VanishedFileError": ValueError,
}
PUBLIC = [
    "BadFileError",
    "BadValueError",
    "DamagedStateError",
    "NoRowsError",
    "SnapshotError",
    "SnapshotTimeoutError",
]


def test_every_error_is_a_growing_data_error_and_keeps_its_built_in_base():
    defined = {
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value) and issubclass(value, Exception) and not name.startswith("_")
    }
    assert defined == {"GrowingDataError", *BUILT_IN_BASE}
    for name, base in BUILT_IN_BASE.items():
        error = getattr(errors, name)
        assert issubclass(error, errors.GrowingDataError), name
        assert issubclass(error, base), name
        assert inspect.getdoc(error), name
    assert issubclass(errors.SnapshotTimeoutError, RuntimeError)
    assert errors.GrowingDataError.__bases__ == (Exception,)


def test_the_base_and_the_public_errors_are_exported():
    assert {"GrowingDataError", *PUBLIC} <= set(kgd.__all__)
    assert kgd.GrowingDataError is errors.GrowingDataError
    for name in PUBLIC:
        assert getattr(kgd, name) is getattr(errors, name)
        assert issubclass(getattr(kgd, name), kgd.GrowingDataError)
    assert issubclass(kgd.NoRowsError, ValueError)
    assert issubclass(kgd.BadFileError, ValueError)
    assert issubclass(kgd.SnapshotError, RuntimeError)


def test_a_folder_of_bad_files_raises_a_growing_data_error(folder):
    write_csv(folder / "bad.csv", [(1, "n/a", 3)])
    write_csv(folder / "short.csv", [(1, 2)])
    model, _ = counting_model()
    data = kgd.GrowingDataCallback(folder, label="price", settle_seconds=0)
    with pytest.raises(kgd.GrowingDataError) as error:
        kgd.GrowingDatasetTrainer(model, data).fit(epochs=1, verbose=0)
    assert type(error.value) is kgd.NoRowsError
    assert isinstance(error.value, ValueError)
    assert str(error.value).startswith(f"No training rows in '{folder}': 2 files were rejected")


def test_a_bad_file_and_a_missing_snapshot_raise_growing_data_errors(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("price,price\n1,2\n")
    with pytest.raises(kgd.GrowingDataError) as error:
        CsvFormat(label="price").read(str(path))
    assert isinstance(error.value, kgd.BadFileError)
    with pytest.raises(kgd.GrowingDataError) as error:
        SnapshotFolder(str(tmp_path / "snapshots"), "run-1").wait(0, timeout=0.1)
    assert isinstance(error.value, kgd.SnapshotTimeoutError) and isinstance(error.value, TimeoutError)


def test_no_rows_error_says_what_is_missing_and_keeps_its_arguments():
    rejected = [
        RejectedFile(path=f"/in/r{n}.csv", reason=f"reason {n}", size=1, mtime_ns=0) for n in range(12)
    ]
    error = kgd.NoRowsError("/in", ["*.csv", "*.csv.gz"], rejected, ["/in/new.csv"], waited=2.5)
    assert (error.directory, error.pattern, error.rejected, error.pending, error.waited) == (
        "/in",
        ["*.csv", "*.csv.gz"],
        tuple(rejected),
        ("/in/new.csv",),
        2.5,
    )
    lines = str(error).splitlines()
    assert (
        lines[0]
        == "No training rows in '/in' after waiting 2.5 s: 12 files were rejected, the first r0.csv: reason 0"
    )
    assert lines[1:10] == [f"  rejected r{n}.csv: reason {n}" for n in range(1, 10)]
    assert lines[10:] == [
        "  and 2 more rejected files",
        "1 file is still being written; pass wait_for_data=seconds to wait for it.",
    ]
    pending = kgd.NoRowsError(
        "/in", "*.csv", [], ["/in/a.csv", "/in/b.csv"], wait_hint="pass --wait-for-data"
    )
    assert str(pending) == (
        "No training rows in '/in': 2 files are still being written (not settled yet); "
        "pass --wait-for-data to wait for them."
    )
    assert str(kgd.NoRowsError("/in", ["*.csv"], [], [])) == (
        "No training rows in '/in': no file matches '*.csv' yet; "
        "pass wait_for_data=seconds to wait for the first files."
    )


def test_no_rows_error_names_files_by_their_path_in_the_folder():
    rejected = [
        RejectedFile(path=f"/lake/dt=2026-12-0{day}/part-0.csv", reason="bad", size=1, mtime_ns=0)
        for day in (1, 2)
    ]
    assert str(kgd.NoRowsError("/lake", "*.csv", rejected, [])).splitlines() == [
        "No training rows in '/lake': 2 files were rejected, the first dt=2026-12-01/part-0.csv: bad",
        "  rejected dt=2026-12-02/part-0.csv: bad",
    ]

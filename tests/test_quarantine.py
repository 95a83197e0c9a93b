import os

from helpers import id_rows, write_csv

from keras_growing_data.sources.ingest_parts import build_ingest
from keras_growing_data.sources.quarantine import MAX_NAME_BYTES, quarantine_file


def bad_export(path, good_rows):
    """`good_rows` good rows, then one bad one."""
    write_csv(path, [*id_rows(0, good_rows), (good_rows, "five", 1)])
    return str(path)


def test_a_bad_file_of_a_name_already_quarantined_is_numbered_not_written_over(folder):
    ingest = build_ingest(folder, label="price", settle_seconds=0, on_bad_file="quarantine")
    write_csv(folder / "good.csv", 2)
    ingest.poll()
    monday = bad_export(folder / "export.csv", 1000)
    monday_bytes = open(monday, "rb").read()
    assert ingest.poll() == []
    tuesday = bad_export(folder / "export.csv", 5)
    tuesday_bytes = open(tuesday, "rb").read()
    assert ingest.poll() == []
    quarantined = folder / "_rejected"
    assert sorted(os.listdir(quarantined)) == [
        "export-2.csv",
        "export-2.csv.reason.txt",
        "export.csv",
        "export.csv.reason.txt",
    ]
    assert (quarantined / "export.csv").read_bytes() == monday_bytes
    assert (quarantined / "export-2.csv").read_bytes() == tuesday_bytes
    assert (quarantined / "export.csv.reason.txt").read_text() == (
        f"{monday}: line 1002, column 'x': expected a number, found 'five'\n"
    )
    assert (quarantined / "export-2.csv.reason.txt").read_text() == (
        f"{monday}: line 7, column 'x': expected a number, found 'five'\n"
    )
    assert ingest.rejected[monday].moved_to == str(quarantined / "export-2.csv")


def test_the_number_goes_before_a_compressed_files_two_extensions_and_fits_a_long_name(folder):
    rejected = folder / "_rejected"
    rejected.mkdir()
    (rejected / "part.csv.gz").write_bytes(b"monday")
    (rejected / "part-2.csv.gz.reason.txt").write_text("an orphan reason file")
    (folder / "part.csv.gz").write_bytes(b"tuesday")
    assert quarantine_file(str(folder), str(folder / "part.csv.gz"), "bad") == str(rejected / "part-3.csv.gz")
    long_name = "n" * (MAX_NAME_BYTES - 4) + ".csv"
    for day in ("monday", "tuesday"):
        (folder / long_name).write_text(day)
        quarantine_file(str(folder), str(folder / long_name), "bad")
    numbered = "n" * (MAX_NAME_BYTES - 6) + "-2.csv"
    assert (rejected / long_name).read_text() == "monday" and (rejected / numbered).read_text() == "tuesday"
    assert (rejected / "part.csv.gz").read_bytes() == b"monday"

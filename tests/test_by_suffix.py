import dataclasses
import gzip
import json
import os

import keras
import numpy as np
import pytest
from helpers import OLD, counting_model, id_rows, id_table, write_csv, write_parquet

import keras_growing_data as kgd
from keras_growing_data.formats import BySuffix, every_format
from keras_growing_data.formats.csv.csv_format import CsvFormat
from keras_growing_data.formats.file_format import FileFormat, ParsedFile
from keras_growing_data.formats.file_rows import FileRows
from keras_growing_data.formats.jsonl.jsonl_format import JsonlFormat
from keras_growing_data.formats.schema import Schema
from keras_growing_data.sources.ingest import FolderIngest
from keras_growing_data.sources.ingest_parts import ingest_parts


def write_jsonl(path, rows, mtime=OLD, opener=open):
    """Writes rows `(id, x, price)` as JSON objects, one a line."""
    with opener(path, "wt") as f:
        for i, x, price in rows:
            f.write(json.dumps({"id": i, "x": x, "price": price}) + "\n")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return str(path)


class Halves(FileFormat):
    """A toy format of another kind: raw float32 rows `(id, x, price)`; it neither tails nor streams."""

    name = "halves"
    suffixes = (".half",)
    compressions = ()

    def read(self, path, schema=None, skip_bad_rows=False, partition=None, end=None) -> ParsedFile:
        schema = schema or Schema((("id", "float32"), ("x", "float32"), ("price", "float32")), ("price",))
        with open(path, "rb") as f:
            values = np.frombuffer(f.read(), np.float32).reshape(-1, 3).copy()
        rows = FileRows(schema, {})
        rows.keep((values,), (), ((0, 0.0, 0, 0.0),) * 3)
        arrays, strings = rows.stacked()
        return ParsedFile(("id", "x", "price"), schema, arrays, strings, os.path.getsize(path))


def test_a_file_is_read_by_the_format_its_name_ends_in():
    any_format = every_format(label="price", max_line_bytes=1000, parser="tensorflow")
    assert [f.name for f in any_format.formats] == ["csv", "jsonl", "parquet"]
    named = {
        "a.csv": "csv",
        "dt=1/b.CSV.gz": "csv",
        "c.jsonl": "jsonl",
        "d.ndjson.xz": "jsonl",
        "E.JSONL.BZ2": "jsonl",
        "export.data": "csv",  # Claimed by none: CSV, as every file was before.
        "f.jsonl.zip": "csv",  # Not a compression JSON Lines is read in.
        "dt=1/part-00000-1a2b.snappy.parquet": "parquet",
        "G.PARQUET": "parquet",
        "h.parquet.gz": "csv",  # Parquet is read in no compression: it needs its footer.
    }
    assert {name: any_format.format_of(f"/in/{name}").name for name in named} == named
    assert any_format.format_of("c.jsonl").max_line_bytes == 1000
    assert any_format.format_of("a.csv").max_line_bytes == 1000
    assert any_format.tails and any_format.streams_rows and any_format.labels == ["price"]


def test_formats_must_agree_on_the_options_and_claim_a_suffix_once():
    with pytest.raises(ValueError, match="the jsonl and csv formats were built with different labels"):
        BySuffix([CsvFormat(label="price"), JsonlFormat(label="y")])
    with pytest.raises(ValueError, match=r"the csv and csv formats both claim '.csv'"):
        BySuffix([CsvFormat(label="price"), CsvFormat(label="price")])
    with pytest.raises(ValueError, match="at least one format"):
        BySuffix([])


def test_a_folder_that_mixes_formats_trains_every_row_once_per_epoch(folder):
    write_csv(folder / "a.csv", id_rows(0, 50))
    write_jsonl(folder / "b.jsonl", id_rows(50, 30))

    class DropFiles(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 0:
                write_jsonl(folder / "c.ndjson.gz", id_rows(80, 21), opener=gzip.open)
            if epoch == 1:
                write_csv(folder / "d.csv.gz", [])  # A header only: rejected, nothing joins.
                write_jsonl(folder / "e.jsonl", id_rows(101, 9))
                write_csv(folder / "f.csv", id_rows(110, 7))
                write_parquet(folder / "g.parquet", id_table(117, 13), row_group_size=5)

    model, counts = counting_model()
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=16, seed=3, settle_seconds=0)
    history = kgd.GrowingDatasetTrainer(model, data).fit(epochs=3, callbacks=[counts, DropFiles()], verbose=0)
    assert history.history["rows"] == [80, 101, 130] and history.history["files"] == [2, 3, 6]
    for epoch, rows in enumerate(history.history["rows"]):
        seen = counts.per_epoch[epoch]
        np.testing.assert_array_equal(seen[:rows], 1, err_msg=f"epoch {epoch}")
        assert seen[rows:].sum() == 0, f"epoch {epoch} trained rows not yet accepted"
    assert data.schema == {"id": "float32", "x": "float32", "price": "float32"}
    assert [os.path.basename(p) for p in data.rejected] == ["d.csv.gz"]


def test_a_file_whose_content_is_not_its_names_format_is_rejected_with_the_reason(folder):
    write_csv(folder / "a.csv", id_rows(0, 3), mtime=OLD - 1)
    write_csv(folder / "csv-inside.jsonl", id_rows(3, 3))
    data = kgd.GrowingDataCallback(folder, label="price", settle_seconds=0)
    data.poll()
    assert data.num_rows == 3
    reason = data.rejected[str(folder / "csv-inside.jsonl")].reason
    assert reason == "line 1: not JSON: Expecting value at character 1"


def test_each_file_is_tailed_if_its_format_reads_appended_lines(folder, tmp_path):
    write_csv(folder / "a.csv", id_rows(0, 2))
    write_jsonl(folder / "b.jsonl", id_rows(2, 2))
    (folder / "c.half").write_bytes(np.float32(id_rows(4, 2)).tobytes())
    parts = ingest_parts(
        folder, label="price", settle_seconds=0, pattern="*.*", storage="disk", storage_dir=tmp_path
    )
    any_format = BySuffix([*parts.file_format.formats, Halves(label="price")])
    assert [any_format.tails_file(f"x.{kind}") for kind in ("csv", "jsonl", "half")] == [True, True, False]
    ingest = FolderIngest(dataclasses.replace(parts, file_format=any_format), appends="tail")
    assert (
        len(ingest.poll()) == 3 and ingest.num_rows == 6
    )  # The toy format takes no scratch: it is given none.
    with open(folder / "a.csv", "a") as f:
        f.write("6,1,3\n")
    with open(folder / "b.jsonl", "a") as f:
        f.write('{"id": 7, "x": 2, "price": 5}\n')
    with open(folder / "c.half", "ab") as f:
        f.write(np.float32([[8, 1, 1]]).tobytes())
    ingest.poll()
    assert ingest.num_rows == 8 and sorted(os.path.basename(p) for p in ingest.tailed.states) == [
        "a.csv",
        "b.jsonl",
    ]

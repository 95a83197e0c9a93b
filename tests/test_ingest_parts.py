import inspect
import re

import pytest
from helpers import write_csv

import keras_growing_data as kgd
from keras_growing_data.formats.by_suffix import BySuffix
from keras_growing_data.formats.csv.csv_format import CsvFormat
from keras_growing_data.sources import ingest_parts as parts_module
from keras_growing_data.sources.ingest import FolderIngest
from keras_growing_data.sources.ingest_parts import build_ingest, ingest_parts
from keras_growing_data.sources.keep_everything import KeepEverything
from keras_growing_data.storage.disk_store import DiskRowStore


def owners_table() -> dict[str, str]:
    """Argument -> owner, as the bullets of the module's docstring say: `- owner: `arg`, `arg`.`."""
    bullets = [" ".join(item.split("\n\n")[0].split()) for item in parts_module.__doc__.split("\n- ")[1:]]
    owners = {}
    for bullet in bullets:
        owner, _, names = bullet.rpartition(": ")
        for name in re.findall(r"`(\w+)`", names):
            owners[name] = owner
    return owners


def test_every_argument_of_the_callback_has_one_owner_in_the_table():
    arguments = [name for name in inspect.signature(kgd.GrowingDataCallback).parameters if name != "self"]
    owners = owners_table()
    assert sorted(owners) == sorted(arguments)
    doc = kgd.GrowingDataCallback.__doc__
    for name in ("directory", "pattern", "columns", "state_dir", "storage", "window", "appends"):
        [entry] = re.findall(rf"^        {name}: ((?:.|\n)*?)(?=^        \w+: |\Z)", doc, flags=re.M)
        assert re.search(r"See `\w+`\.\s*$", entry), f"{name} is documented by its owner, named here"


def test_the_parts_are_built_from_the_arguments_and_handed_to_the_ingest(folder, tmp_path):
    write_csv(folder / "a.csv", 5)
    parts = ingest_parts(folder, label="price", settle_seconds=0, storage="disk", storage_dir=tmp_path)
    assert isinstance(parts.file_format, BySuffix) and parts.file_format.labels == ["price"]
    assert isinstance(parts.file_format.format_of(str(folder / "a.csv")), CsvFormat)
    assert isinstance(parts.store, DiskRowStore) and isinstance(parts.policy, KeepEverything)
    assert parts.manifest is None and parts.watcher.settle_seconds == 0
    ingest = FolderIngest(parts, on_bad_row="skip")
    assert ingest.poll() == [str(folder / "a.csv")] and ingest.num_rows == 5
    assert ingest.store is parts.store and ingest.skip_bad_rows


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"storage": "cloud"}, ValueError, "storage"),
        ({"window": 3}, TypeError, "window must be a keras_growing_data.Window"),
        ({"settle_seconds": -1}, ValueError, "settle_seconds"),
        ({"parser": "polars"}, ValueError, "parser"),
        ({"on_bad_file": "delete"}, ValueError, "on_bad_file"),
        ({"appends": "follow"}, ValueError, "appends"),
        ({"max_file_bytes": 0}, ValueError, "max_file_bytes must be >= 1, got 0"),
    ],
)
def test_each_argument_is_checked_by_its_owner(folder, arguments, error, message):
    with pytest.raises(error, match=message):
        build_ingest(folder, label="price", **arguments)

import logging
import os

from helpers import OLD, id_rows, write_csv

from keras_growing_data.sources.ingest_parts import build_ingest


def test_a_file_moved_within_the_folder_is_not_read_again_and_its_record_follows(folder, tmp_path, caplog):
    state = tmp_path / "state"
    options = {"settle_seconds": 0, "recursive": True, "state_dir": state}
    a = write_csv(folder / "a.csv", id_rows(0, 100))
    ingest = build_ingest(folder, "price", **options)
    assert ingest.poll() == [a]
    (folder / "2026-12-01").mkdir()
    moved = str(folder / "2026-12-01" / "a.csv")
    os.rename(a, moved)
    with caplog.at_level(logging.INFO, logger="keras_growing_data"):
        assert ingest.poll() == []
        assert ingest.poll() == []
    assert ingest.num_rows == 100 and list(ingest.accepted) == [moved]
    assert caplog.text.count(f"{a} was moved to {moved}") == 1
    assert "its 100 rows are not read again" in caplog.text
    assert "changed after it was accepted" not in caplog.text
    del ingest

    again = build_ingest(folder, "price", **options)
    assert again.poll() == [] and again.num_rows == 100 and list(again.accepted) == [moved]
    # The old path is free: a new file there is a new file.
    write_csv(a, id_rows(100, 5), mtime=OLD + 1)
    assert again.poll() == [a] and again.num_rows == 105


def test_links_to_an_accepted_file_are_not_read_twice(folder, tmp_path, caplog):
    state = tmp_path / "state"
    a = write_csv(folder / "a.csv", id_rows(0, 100))
    os.symlink("a.csv", folder / "latest.csv")
    os.link(a, folder / "copy.csv")
    ingest = build_ingest(folder, "price", settle_seconds=0, state_dir=state)
    with caplog.at_level(logging.INFO, logger="keras_growing_data"):
        assert ingest.poll() == [a]
        assert ingest.poll() == []
    assert ingest.num_rows == 100 and list(ingest.accepted) == [a]
    links = {str(folder / "copy.csv"): a, str(folder / "latest.csv"): a}
    assert ingest.same_files == links
    assert caplog.text.count(f"is the same file as {a}") == 2
    del ingest

    again = build_ingest(folder, "price", settle_seconds=0, state_dir=state)
    assert again.poll() == [] and again.num_rows == 100 and again.same_files == links
    # The accepted path deleted, its hard link is the file: its record follows it, nothing is read.
    os.remove(a)
    assert again.poll() == [] and again.num_rows == 100
    assert list(again.accepted) == [str(folder / "copy.csv")]


def test_a_new_file_with_a_recycled_inode_number_is_read(folder):
    a = write_csv(folder / "a.csv", id_rows(0, 3))
    ingest = build_ingest(folder, "price", settle_seconds=0)
    ingest.poll()
    os.remove(a)
    b = write_csv(folder / "b.csv", id_rows(3, 4), mtime=OLD + 1)
    # Whether or not the file system gave b.csv a.csv's inode number, it is another file.
    assert ingest.poll() == [b] and ingest.num_rows == 7

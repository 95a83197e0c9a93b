import logging
import os
import sys
import time

import pytest
import tensorflow as tf
from helpers import OLD, write_csv

from keras_growing_data.sources.ingest_parts import build_ingest
from keras_growing_data.sources.watcher import FolderWatcher, canonical_folder, is_temporary

OLD_NS = OLD * 1_000_000_000


def names(stats):
    return [os.path.basename(s.path) for s in stats]


def test_pattern_hidden_and_temporary_files(folder):
    for name in ["a.csv", "b.txt", ".hidden.csv", "_tmp.csv", "c.csv.tmp", "d.csv.part", "e.crdownload"]:
        write_csv(folder / name, 1)
    (folder / "dir.csv").mkdir()
    stats = FolderWatcher(str(folder), "*.csv", 1.0).complete_files()
    assert names(stats) == ["a.csv", "dir.csv"]
    assert [s.problem for s in stats] == [None, "is a directory"]


def test_links_out_of_the_folder_are_flagged_unless_followed(folder, tmp_path):
    outside = write_csv(tmp_path / "outside.csv", 2)
    inside = write_csv(folder / "inside.csv", 2)
    os.symlink(outside, folder / "out.csv")
    os.symlink(inside, folder / "in.csv")
    os.symlink(tmp_path / "missing.csv", folder / "broken.csv")
    problems = {
        os.path.basename(s.path): s.problem for s in FolderWatcher(str(folder), "*.csv", 0).complete_files()
    }
    assert problems["in.csv"] is None and problems["inside.csv"] is None
    assert problems["out.csv"].startswith("is a symbolic link that leads out of the watched folder")
    assert "follow_symlinks=True" in problems["out.csv"]
    assert problems["broken.csv"].startswith("is a broken symbolic link")
    followed = FolderWatcher(str(folder), "*.csv", 0, follow_symlinks=True).complete_files()
    assert {os.path.basename(s.path): s.problem for s in followed}["out.csv"] is None


def test_is_temporary():
    assert is_temporary(".x.csv") and is_temporary("_x.csv") and is_temporary("x.csv.partial")
    assert not is_temporary("x.csv")


# A file settles once its modification time is settle_seconds old. The tests set the
# times, or use settle times far longer than a busy machine stalls between a write and
# a listing, so a stall cannot make a fresh file look settled.


def test_recent_file_waits_until_it_settles(folder):
    watcher = FolderWatcher(str(folder), "*.csv", settle_seconds=30)
    path = write_csv(folder / "a.csv", 3, mtime=None)
    assert watcher.complete_files() == []
    written = time.time() - 10
    os.utime(path, (written, written))
    assert watcher.complete_files() == [], "10 s old"
    written = time.time() - 31
    os.utime(path, (written, written))
    assert names(watcher.complete_files()) == ["a.csv"]


def test_file_appended_in_place_is_not_complete_while_it_changes(folder):
    # Seen unchanged for settle_seconds also counts (file systems without times),
    # so a test of that clock takes settle_seconds: 2 s, well above a stall.
    watcher = FolderWatcher(str(folder), "*.csv", settle_seconds=2.0)
    path = folder / "a.csv"
    path.write_text("id,x,price\n")
    for i in range(5):
        with open(path, "a") as f:
            f.write(f"{i},1,1\n")
        assert watcher.complete_files() == []
        time.sleep(0.15)
    time.sleep(2.05)
    assert names(watcher.complete_files()) == ["a.csv"]


def test_renamed_in_file_with_old_content_is_picked_up_at_once(folder, tmp_path):
    elsewhere = write_csv(tmp_path / "staging.csv", 3)
    os.replace(elsewhere, folder / "a.csv")
    assert names(FolderWatcher(str(folder), "*.csv", settle_seconds=60).complete_files()) == ["a.csv"]


def test_zero_settle_takes_fresh_files_at_once(folder):
    write_csv(folder / "a.csv", 3, mtime=None)
    assert names(FolderWatcher(str(folder), "*.csv", settle_seconds=0).complete_files()) == ["a.csv"]


def test_missing_folder_lists_nothing(tmp_path):
    watcher = FolderWatcher(str(tmp_path / "nope"), "*.csv")
    assert not watcher.exists()
    assert watcher.complete_files() == []


def test_file_system_without_mtime_settles_on_stable_size():
    folder = "ram://watcher_test"
    tf.io.gfile.makedirs(folder)
    with tf.io.gfile.GFile(f"{folder}/a.csv", "w") as f:
        f.write("id,x,price\n1,2,3\n")
    watcher = FolderWatcher(folder, "*.csv", settle_seconds=2.0)
    assert watcher.complete_files() == []
    time.sleep(2.05)
    assert names(watcher.complete_files()) == ["a.csv"]
    with tf.io.gfile.GFile(f"{folder}/a.csv", "w") as f:
        f.write("id,x,price\n1,2,3\n4,5,6\n")
    assert watcher.complete_files() == []


def test_a_skipped_file_that_a_recheck_found_unsettled_is_looked_at_until_it_settles(folder):
    path = write_csv(folder / "a.csv", 3, mtime=None)  # Just written.
    watcher = FolderWatcher(str(folder), "*.csv", settle_seconds=60)
    assert watcher.complete_files(skip=[path], recheck=[path]) == []
    looked_at = watcher.files_looked_at
    os.utime(path, (OLD, OLD))  # Settled since.
    assert names(watcher.complete_files(skip=[path])) == ["a.csv"]
    assert watcher.complete_files(skip=[path]) == []  # Settled and reported: skipped again.
    assert watcher.files_looked_at - looked_at == 1


def test_local_and_url_listings_agree_but_local_times_keep_their_nanoseconds(folder):
    path = write_csv(folder / "a.csv", 3)
    os.utime(path, ns=(OLD_NS + 123_456_789, OLD_NS + 123_456_789))
    (local,) = FolderWatcher(str(folder), "*.csv", 0).complete_files()
    assert (local.path, local.size, local.mtime_ns) == (path, os.path.getsize(path), OLD_NS + 123_456_789)
    assert FolderWatcher(str(folder), "*.csv", 0).current(path) == local
    (by_url,) = FolderWatcher(f"file://{folder}", "*.csv", 0).complete_files()
    assert (by_url.size, by_url.mtime_ns) == (local.size, OLD_NS)  # gfile: whole seconds (TF 2.21).


def test_a_local_file_settles_without_a_whole_second_of_doubt(folder):
    write_csv(folder / "a.csv", 3, mtime=None)
    time.sleep(0.3)
    # First seen now, written 0.3 s ago: settled by its time alone. A whole-second
    # time would leave up to a second of doubt, and the file would wait.
    assert names(FolderWatcher(str(folder), "*.csv", settle_seconds=0.2).complete_files()) == ["a.csv"]


def test_every_spelling_of_a_folder_lists_the_same_paths(folder, monkeypatch):
    monkeypatch.chdir(folder.parent)
    spellings = ["incoming", "./incoming/", str(folder), f"{folder}/", f"{folder}/../incoming"]
    assert {canonical_folder(s) for s in spellings} == {str(folder)}
    assert canonical_folder("gs://bucket/incoming/") == canonical_folder("gs://bucket/incoming")
    assert canonical_folder("gs://bucket/incoming") == "gs://bucket/incoming"
    assert canonical_folder("file:///") == "file:///"


def test_a_file_added_under_a_folder_whose_time_is_set_back_is_still_listed(folder):
    a = write_csv(folder / "a.csv", 2)
    os.utime(folder, (OLD, OLD))
    watcher = FolderWatcher(folder, settle_seconds=0)
    assert [s.path for s in watcher.complete_files()] == [a]
    assert [s.path for s in watcher.complete_files()] == [a]  # Listed again from the same listing.
    b = write_csv(folder / "b.csv", 2)
    os.utime(folder, (OLD, OLD))  # Same modification time: its ctime tells the change.
    assert [s.path for s in watcher.complete_files()] == [a, b]


def test_a_file_replaced_in_place_or_renamed_over_is_another_version(folder):
    a = write_csv(folder / "a.csv", 2)
    watcher = FolderWatcher(folder, settle_seconds=0)
    [before] = watcher.complete_files()
    write_csv(folder / "new.tmp", 2)
    os.replace(folder / "new.tmp", a)  # Same size, same time (as rsync -a keeps them).
    [after] = watcher.complete_files()
    assert (after.size, after.mtime_ns) == (before.size, before.mtime_ns)
    assert after.version != before.version and after.inode != before.inode


def tree(folder):
    """A date-partitioned tree, with folders that must never be read."""
    for relative in [
        "top.csv",
        "dt=2026-12-01/part-0.csv",
        "dt=2026-12-02/hour=3/part-0.csv",
        "dt=2026-12-02/hour=3/notes.txt",
        ".hidden/a.csv",
        "_temporary/0/a.csv",
        "_rejected/old.csv",
        "state/rows.csv",
        "dt=2026-12-03.tmp/a.csv",
    ]:
        (folder / relative).parent.mkdir(parents=True, exist_ok=True)
        write_csv(folder / relative, 1)


def test_recursive_watches_sub_folders_but_not_hidden_temporary_or_excluded_ones(folder, tmp_path):
    tree(folder)
    listed = ["dt=2026-12-01/part-0.csv", "dt=2026-12-02/hour=3/part-0.csv", "top.csv"]
    by_url = FolderWatcher(f"file://{folder}", "*.csv", 0, recursive=True, exclude=[f"file://{folder}/state"])
    assert [by_url.relative(s.path) for s in by_url.complete_files()] == listed
    # A link to a folder could loop; `tf.io.gfile` does not tell links, so only local listings skip them.
    os.symlink(folder / "dt=2026-12-01", folder / "linked")
    watcher = FolderWatcher(str(folder), "*.csv", 0, recursive=True, exclude=[str(folder / "state")])
    assert [watcher.relative(s.path) for s in watcher.complete_files()] == listed
    assert names(FolderWatcher(str(folder), "*.csv", 0).complete_files()) == ["top.csv"]


def test_a_url_sub_folder_that_cannot_be_listed_waits_but_the_folder_itself_fails_the_poll(folder, caplog):
    tree(folder)
    url = f"file://{folder}"
    watcher = FolderWatcher(url, "*.csv", 0, recursive=True, exclude=[f"{url}/state"])
    locked = folder / "dt=2026-12-02"
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("this process lists any folder (root): none can be made unlistable")
        with caplog.at_level(logging.WARNING, logger="keras_growing_data"):
            listed = [watcher.relative(s.path) for s in watcher.complete_files()]
        assert listed == ["dt=2026-12-01/part-0.csv", "top.csv"]
        (message,) = caplog.messages
        assert message.startswith(f"Cannot list {url}/dt=2026-12-02 now (")
        assert message.endswith("): its files wait for a later poll")
        folder.chmod(0)
        with pytest.raises(tf.errors.PermissionDeniedError):
            watcher.complete_files()
    finally:
        folder.chmod(0o755)
        locked.chmod(0o755)
    assert len(watcher.complete_files()) == 3


def test_recursive_listing_follows_files_and_folders_that_come_and_go(folder):
    tree(folder)
    watcher = FolderWatcher(str(folder), "*.csv", 0, recursive=True, exclude=[str(folder / "state")])
    assert len(watcher.complete_files()) == 3
    write_csv(folder / "dt=2026-12-02" / "hour=3" / "part-1.csv", 1)
    (folder / "dt=2026-12-04" / "hour=0").mkdir(parents=True)
    write_csv(folder / "dt=2026-12-04" / "hour=0" / "part-0.csv", 1)
    os.remove(folder / "dt=2026-12-01" / "part-0.csv")
    assert [watcher.relative(s.path) for s in watcher.complete_files()] == [
        "dt=2026-12-02/hour=3/part-0.csv",
        "dt=2026-12-02/hour=3/part-1.csv",
        "dt=2026-12-04/hour=0/part-0.csv",
        "top.csv",
    ]
    os.rename(folder / "dt=2026-12-02", folder / ".dt=2026-12-02")  # Hidden now: its files leave.
    assert [watcher.relative(s.path) for s in watcher.complete_files()] == [
        "dt=2026-12-04/hour=0/part-0.csv",
        "top.csv",
    ]


@pytest.mark.parametrize("by_url", [False, True])
def test_files_are_complete_once_their_folder_or_one_above_holds_the_commit_marker(folder, by_url):
    for day in ("dt=2026-12-01", "dt=2026-12-02"):
        (folder / day / "hour=3").mkdir(parents=True)
        write_csv(folder / day / "hour=3" / "part-0.csv", 1)
        (folder / day / "_temporary" / "0").mkdir(parents=True)  # A Spark job's files in flight.
        write_csv(folder / day / "_temporary" / "0" / "part-1.csv", 1)
        (folder / day / "_temporary" / "_SUCCESS").write_bytes(b"")
    write_csv(folder / "top.csv", 1)
    directory = f"file://{folder}" if by_url else str(folder)
    watcher = FolderWatcher(directory, "*.csv", 0, recursive=True, commit_marker="_SUCCESS")

    def complete():
        return [watcher.relative(stat.path) for stat in watcher.complete_files()]

    assert complete() == []
    assert [(watcher.relative(s.path), watcher.waiting_for_marker(s.path)) for s in watcher.candidates()] == [
        ("dt=2026-12-01/hour=3/part-0.csv", "waiting for _SUCCESS in dt=2026-12-01/hour=3/"),
        ("dt=2026-12-02/hour=3/part-0.csv", "waiting for _SUCCESS in dt=2026-12-02/hour=3/"),
        ("top.csv", f"waiting for _SUCCESS in {directory}/"),
    ]
    (folder / "dt=2026-12-01" / "_SUCCESS").write_bytes(b"")
    assert complete() == ["dt=2026-12-01/hour=3/part-0.csv"]
    (folder / "_SUCCESS").write_bytes(b"")
    assert complete() == ["dt=2026-12-01/hour=3/part-0.csv", "dt=2026-12-02/hour=3/part-0.csv", "top.csv"]
    assert [watcher.waiting_for_marker(s.path) for s in watcher.candidates()] == [None, None, None]
    (folder / "_SUCCESS").unlink()  # A marker taken away: the folder's files are no longer complete.
    assert complete() == ["dt=2026-12-01/hour=3/part-0.csv"]


def test_without_a_commit_marker_nothing_waits_for_one_and_a_marker_is_a_file_name(folder):
    write_csv(folder / "a.csv", 1)
    watcher = FolderWatcher(str(folder), "*.csv", 0)
    assert names(watcher.complete_files()) == ["a.csv"] and watcher.commit_marker is None
    assert watcher.waiting_for_marker(str(folder / "a.csv")) is None
    with pytest.raises(
        ValueError, match=r"^commit_marker must be a file name such as '_SUCCESS', not a path"
    ):
        FolderWatcher(str(folder), commit_marker="dt=1/_SUCCESS")
    with pytest.raises(TypeError, match="^commit_marker must be a string"):
        FolderWatcher(str(folder), commit_marker=True)


def test_the_default_pattern_takes_plain_and_compressed_csv(folder):
    for name in ["a.csv", "b.csv.gz", "c.csv.bz2", "d.csv.xz", "e.csv.zip", "f.gz", "g.csv.gz.tmp"]:
        write_csv(folder / name, 1)
    assert names(FolderWatcher(str(folder), settle_seconds=0).complete_files()) == [
        "a.csv",
        "b.csv.gz",
        "c.csv.bz2",
        "d.csv.xz",
    ]
    assert names(FolderWatcher(str(folder), ["*.zip", "f.*"], 0).complete_files()) == ["e.csv.zip", "f.gz"]


def remove_deep_tree(top):
    """Removes a tree deeper than the recursion limit (`shutil.rmtree` and `os.walk` recurse on 3.11)."""
    stack, folders = [str(top)], []
    while stack:
        folders.append(stack.pop())
        for entry in os.scandir(folders[-1]):
            if entry.is_dir(follow_symlinks=False):
                stack.append(entry.path)
            else:
                os.remove(entry.path)
    for folder in reversed(folders):  # Each folder after every folder under it.
        os.rmdir(folder)


def test_a_tree_deeper_than_the_recursion_limit_is_listed_and_forgotten(folder, tmp_path):
    depth = 1_100
    # Python's default limit, which a process has unless something raised it (TF 2.21's import
    # brings in jedi, which sets 3000: too deep a tree for a path under Linux's 4,096 bytes).
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(1_000)
    bottom = str(folder)
    for _ in range(depth):  # Not `os.makedirs`, which recurses.
        bottom = os.path.join(bottom, "d")
        os.mkdir(bottom)
    deepest = write_csv(os.path.join(bottom, "deep.csv"), 3)
    top = write_csv(folder / "top.csv", 2)
    try:
        for restart in range(2):  # A restart lists the whole tree again.
            ingest = build_ingest(folder, "price", settle_seconds=0, recursive=True, state_dir=tmp_path / "s")
            assert ingest.poll() == ([deepest, top] if restart == 0 else [])
            assert sorted(ingest.accepted) == [deepest, top]
            assert ingest.num_rows == 5
        watcher = FolderWatcher(str(folder), "*.csv", 0, recursive=True)
        assert [watcher.relative(s.path) for s in watcher.complete_files()] == [
            "d/" * depth + "deep.csv",
            "top.csv",
        ]
        os.rename(folder / "d", folder / ".d")  # Hidden now: the whole tree's listings are forgotten.
        assert names(watcher.complete_files()) == ["top.csv"]
    finally:
        sys.setrecursionlimit(limit)
        remove_deep_tree(folder / (".d" if (folder / ".d").exists() else "d"))

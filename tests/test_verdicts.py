import logging
import os

from helpers import write_csv

from keras_growing_data.sources.records import AcceptedFile, records_of
from keras_growing_data.sources.verdicts import MAX_RETRY_SECONDS, RECHECKS_PER_POLL, Verdicts
from keras_growing_data.sources.watcher import FolderWatcher


def listed(folder, name, rows=3):
    path = write_csv(folder / name, rows)
    return FolderWatcher(str(folder), settle_seconds=0).current(path)


def test_a_rejected_version_is_judged_again_only_once_it_changes(folder):
    changes = []
    verdicts = Verdicts(str(folder), "reject", changes)
    stat = listed(folder, "a.csv")
    assert verdicts.is_new(stat, now=0.0)
    verdicts.reject(stat, "has no header")
    assert verdicts.rejected[stat.path].reason == "has no header"
    assert [change["type"] for change in changes] == ["reject"]
    assert changes[0]["file"]["reason"] == "has no header"
    assert not verdicts.is_new(stat, now=0.0)
    assert verdicts.is_new(listed(folder, "a.csv", rows=4), now=0.0)
    assert os.listdir(folder) == ["a.csv"]  # Rejected, not moved.


def test_quarantine_moves_a_bad_file_with_its_reason(folder):
    verdicts = Verdicts(str(folder), "quarantine", [])
    stat = listed(folder, "a.csv")
    verdicts.reject(stat, "has no header")
    moved = verdicts.rejected[stat.path].moved_to
    assert moved == str(folder / "_rejected" / "a.csv")
    assert sorted(os.listdir(folder / "_rejected")) == ["a.csv", "a.csv.reason.txt"]


def test_a_waiting_file_is_tried_again_after_1_2_4_seconds_or_when_it_changes(folder):
    verdicts = Verdicts(str(folder), "reject", [])
    stat = listed(folder, "a.csv")
    delays = []
    for _ in range(12):
        waiting = verdicts.wait(stat, "cannot be read now", logging.DEBUG)
        delays.append(2.0 ** (waiting.attempts - 1))
        assert not verdicts.is_new(stat, now=waiting.retry_at - 0.5)
        assert verdicts.is_new(stat, now=waiting.retry_at)
    assert [min(delay, MAX_RETRY_SECONDS) for delay in delays][:4] == [1, 2, 4, 8]
    assert verdicts.waiting[stat.path].attempts == 12
    assert verdicts.is_new(listed(folder, "a.csv", rows=5), now=0.0)
    verdicts.forget_waiting(listed=set())
    assert verdicts.waiting == {}


def test_accepted_files_are_rechecked_in_turn_a_few_per_poll(folder):
    verdicts = Verdicts(str(folder), "reject", [])
    paths = [f"{i}.csv" for i in range(RECHECKS_PER_POLL + 36)]
    first, second = verdicts.rechecked(paths), verdicts.rechecked(paths)
    assert first == paths[:RECHECKS_PER_POLL]
    assert second == paths[RECHECKS_PER_POLL:] + paths[: RECHECKS_PER_POLL - 36]
    assert verdicts.rechecked(paths[:3]) == paths[:3]


def test_rejected_files_are_rechecked_in_turn_a_few_per_poll_beside_the_accepted(folder):
    verdicts = Verdicts(str(folder), "reject", [])
    rejected = [listed(folder, f"{i:03d}.csv").path for i in range(RECHECKS_PER_POLL + 36)]
    for path in rejected:
        verdicts.reject(FolderWatcher(str(folder), settle_seconds=0).current(path), "has no header")
    accepted = ["a.csv", "b.csv"]
    first, second = verdicts.rechecked(accepted), verdicts.rechecked(accepted)
    assert first == accepted + rejected[:RECHECKS_PER_POLL]
    assert second == accepted + rejected[RECHECKS_PER_POLL:] + rejected[: RECHECKS_PER_POLL - 36]


class CountedDict(dict):
    """A dict that counts the times it is iterated over."""

    iterations = 0

    def __iter__(self):
        CountedDict.iterations += 1
        return super().__iter__()


def test_a_poll_rechecks_rejected_files_without_a_look_at_them_all(folder):
    # `list(rejected)` at every poll made a poll cost grow with the rejected files.
    stats = [listed(folder, f"{i:03d}.csv") for i in range(3 * RECHECKS_PER_POLL)]
    rejected = CountedDict({stat.path: None for stat in stats})
    verdicts = Verdicts(str(folder), "reject", [])
    verdicts.set_state({}, rejected)
    before = CountedDict.iterations
    turns = [verdicts.rechecked([]) for _ in range(4)]
    assert CountedDict.iterations == before
    paths = [stat.path for stat in stats]
    assert turns == [paths[:64], paths[64:128], paths[128:], paths[:64]]


def test_rejected_files_that_leave_leave_the_turn_and_the_others_keep_their_place(folder):
    stats = [listed(folder, f"{i:03d}.csv") for i in range(3 * RECHECKS_PER_POLL)]
    verdicts = Verdicts(str(folder), "reject", [])
    for stat in stats:
        verdicts.reject(stat, "has no header")
    paths = [stat.path for stat in stats]
    assert verdicts.rechecked([]) == paths[:64]
    for stat in stats[:5] + stats[64:74]:  # Accepted once fixed: they leave the turn.
        verdicts.accept(AcceptedFile(stat.path, 3, stat.size, stat.mtime_ns))
    # The turn goes on after the last path looked at, none skipped: every one within 3 polls.
    assert verdicts.rechecked([]) == paths[74:138]
    assert verdicts.rechecked([]) == paths[138:] + paths[5:15]
    verdicts.reject(stats[0], "has no header")  # Rejected again: it joins at the end.
    assert list(verdicts.rejected)[-1] == paths[0]
    assert verdicts.rechecked([]) == paths[15:64] + paths[74:89]
    for stat in stats[1:150]:  # Most leave, and the order is rebuilt: fewer than a turn are left, all.
        verdicts.accept(AcceptedFile(stat.path, 3, stat.size, stat.mtime_ns))
    assert verdicts.rechecked([]) == paths[150:] + paths[:1]


def test_a_changed_accepted_file_is_warned_about_once_per_version(folder, caplog):
    verdicts = Verdicts(str(folder), "reject", [])
    stat = listed(folder, "a.csv")
    verdicts.accept(
        AcceptedFile(
            stat.path,
            3,
            stat.size,
            stat.mtime_ns,
            inode=stat.inode,
            device=stat.device,
            ctime_ns=stat.ctime_ns,
        )
    )
    verdicts.warn_if_changed(stat)
    changed = listed(folder, "a.csv", rows=5)
    with caplog.at_level(logging.WARNING, logger="keras_growing_data"):
        verdicts.warn_if_changed(changed)
        verdicts.warn_if_changed(changed)
    assert [r.getMessage().split(" changed")[0] for r in caplog.records] == [stat.path]


def test_the_rejected_files_round_trip_through_the_state(folder):
    verdicts = Verdicts(str(folder), "reject", [])
    stat = listed(folder, "a.csv")
    verdicts.reject(stat, "has no header")
    restored = Verdicts(str(folder), "reject", [])
    restored.set_state(*records_of({"accepted": [], "rejected": verdicts.get_state()}))
    assert restored.rejected == verdicts.rejected
    assert not restored.is_new(stat, now=0.0)

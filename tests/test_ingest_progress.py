import logging
import time

import pytest
from helpers import id_rows, write_csv

from keras_growing_data.sources.ingest_parts import build_ingest
from keras_growing_data.sources.ingest_progress import REPORTED_FILES, IngestProgress


def backlog(folder, files, rows=3):
    for i in range(files):
        write_csv(folder / f"part-{i:05d}.csv", id_rows(rows * i, rows))
    return sum((folder / f"part-{i:05d}.csv").stat().st_size for i in range(files))


def test_a_poll_through_a_backlog_reports_files_rows_and_rate(folder, caplog):
    nbytes = backlog(folder, REPORTED_FILES)
    seen = []
    ingest = build_ingest(folder, label="price", settle_seconds=0)
    with caplog.at_level(logging.INFO, logger="keras_growing_data"):
        assert len(ingest.poll(progress=lambda p: seen.append((p.files_done, p.rows, p.bytes_done)))) == 100
    assert seen[-1] == (100, 300, nbytes)
    assert [files for files, _, _ in seen] == list(range(1, 101))
    lines = [r.getMessage() for r in caplog.records if " files read " in r.getMessage()]
    assert lines[-1].startswith(f"{folder}: 100 of 100 files read (300 rows), ")
    assert lines[-1].endswith(" MB/s")


def test_a_poll_with_few_files_reports_no_progress(folder, caplog):
    backlog(folder, REPORTED_FILES - 1)
    seen = []
    with caplog.at_level(logging.INFO, logger="keras_growing_data"):
        build_ingest(folder, label="price", settle_seconds=0).poll(progress=seen.append)
    assert seen == []
    assert not [r for r in caplog.records if " files read " in r.getMessage()]


def test_a_poll_cut_short_leaves_the_rest_pending_for_the_next(folder):
    nbytes = backlog(folder, 5)
    ingest = build_ingest(folder, label="price", settle_seconds=0)
    assert ingest.poll(max_seconds=0) == [str(folder / "part-00000.csv")]  # One file at least.
    assert sorted(ingest.pending) == [str(folder / f"part-{i:05d}.csv") for i in range(1, 5)]
    assert (
        sum(stat.size for stat in ingest.pending.values())
        == nbytes - (folder / "part-00000.csv").stat().st_size
    )
    skipped = [str(folder / "part-00001.csv")]
    assert len(ingest.poll(skip=skipped)) == 3
    assert list(ingest.pending) == skipped and ingest.num_rows == 12
    assert ingest.poll() == skipped and ingest.pending == {} and ingest.num_rows == 15


def test_progress_says_how_long_the_rest_takes_at_the_rate_so_far():
    # Started 1,000 s ago: a test's own run time is far below the tolerance.
    progress = IngestProgress("incoming", files=4, nbytes=4_000_000, started=time.monotonic() - 1000)
    assert progress.seconds_left is None
    progress.advance(rows=10, nbytes=1_000_000)
    assert progress.seconds_left == pytest.approx(3000, rel=1e-2)
    assert progress.line() == "incoming: 1 of 4 files read (10 rows), 0.0 MB/s, about 50 min left"


def test_a_backlog_read_in_slices_is_one_report_finished_once(folder, caplog):
    backlog(folder, REPORTED_FILES)
    ingest = build_ingest(folder, label="price", settle_seconds=0)
    seen = []
    with caplog.at_level(logging.INFO, logger="keras_growing_data"):
        while len(ingest.accepted) < REPORTED_FILES:
            ingest.poll(max_seconds=0, progress=lambda p: seen.append((p.files_done, p.files)))
    assert seen == [(done, REPORTED_FILES) for done in range(1, REPORTED_FILES + 1)]
    lines = [r.getMessage() for r in caplog.records if " files read " in r.getMessage()]
    finished = [line for line in lines if ": 100 of 100 files read (300 rows), " in line]
    assert finished == lines[-1:], "one report, finished once (lines in between come every 10 s)"

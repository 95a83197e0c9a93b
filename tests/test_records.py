"""The records of judged files read back from a saved state as they were written."""

import dataclasses

from keras_growing_data.sources.records import (
    STATE_ONLY_KEYS,
    AcceptedFile,
    BadRow,
    EpochLineage,
    RejectedFile,
    records_of,
)


def test_records_of_reads_back_the_accepted_and_rejected_files_of_a_state():
    accepted = AcceptedFile(
        path="/in/a.csv",
        rows=3,
        size=30,
        mtime_ns=5,
        skipped=(BadRow(line=2, reason="expected 3 fields, found 2"),),
        ignored=("note",),
        inode=7,
    )
    rejected = RejectedFile(
        path="/in/b.csv", reason="line 2: bad", size=9, mtime_ns=6, moved_to="/in/_bad/b.csv"
    )
    saved = {key: f"kept by the state: {key}" for key in STATE_ONLY_KEYS}
    state = {
        "accepted": [{**dataclasses.asdict(accepted), **saved}],
        "rejected": [dataclasses.asdict(rejected)],
    }
    assert records_of(state) == ({"/in/a.csv": accepted}, {"/in/b.csv": rejected})
    assert accepted.version == (30, 5, 7, 0, 0)


def test_an_epoch_lineage_names_its_files_from_the_folder():
    lineage = EpochLineage(files=("/in/dt=1/a.csv", "/elsewhere/b.csv"), rows=4, rows_skipped=0, folder="/in")
    assert lineage.names == ("dt=1/a.csv", "/elsewhere/b.csv")

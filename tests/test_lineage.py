from keras_growing_data.sources.lineage import Lineage

PATHS = ["/data/a.csv", "/data/b.csv", "/data/c.csv"]


def test_an_epoch_is_the_accepted_files_from_first_to_files():
    lineage = Lineage(PATHS, folder="/data")
    lineage.record(0, files=2, rows=10, rows_skipped=1)
    lineage.record(1, files=3, rows=12, rows_skipped=0, first=1)
    assert lineage[0].names == ("a.csv", "b.csv") and lineage[0].rows == 10 and lineage[0].drawn is None
    assert lineage[1].files == tuple(PATHS[1:]) and lineage[1].files_left == 1
    assert lineage.counts(1) == (3, 12, 0, 1)


def test_the_saved_form_reads_back_with_what_a_sampling_policy_drew():
    lineage = Lineage(PATHS)
    lineage.record(0, 1, 5, 0)
    lineage.record(1, 2, 9, 0, first=1)
    drawn = {"seed": 7, "sampled_rows": 3, "from_files": [0, 2]}
    lineage.record(2, 3, 8, 0, first=0, drawn=drawn)
    state = lineage.get_state()
    # As saved before windows (three numbers), with windows (four), and with a draw (five).
    assert state == {"0": [1, 5, 0], "1": [2, 9, 0, 1], "2": [3, 8, 0, 0, drawn]}
    restored = Lineage(PATHS)
    restored.set_state(state)
    assert [restored[e] for e in restored] == [lineage[e] for e in lineage]
    assert restored[2].drawn == drawn and restored[2].files == tuple(PATHS)

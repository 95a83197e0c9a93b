import logging

from keras_growing_data.cli.file_names import library_log_to_stderr, shown_from


def test_paths_below_the_folder_are_shown_from_it_and_no_other_path_changes():
    folder = "/data/lake"
    text = (
        "Rejected /data/lake/dt=2026-12-01/part-0.csv "
        "(moved to /data/lake/_rejected/dt=2026-12-01/part-0.csv): "
        "older than '/data/lake/dt=2026-12-02/part-0.csv', not /backup/data/lake/a.csv, /data/lake2/b.csv "
        "or /data/lake itself"
    )
    assert shown_from(folder, text) == (
        "Rejected dt=2026-12-01/part-0.csv (moved to _rejected/dt=2026-12-01/part-0.csv): "
        "older than 'dt=2026-12-02/part-0.csv', not /backup/data/lake/a.csv, /data/lake2/b.csv "
        "or /data/lake itself"
    )
    assert shown_from("/data/lake/", "/data/lake/a.csv") == "a.csv"
    assert shown_from("gs://bucket/lake", "Rejected gs://bucket/lake/dt=1/a.csv") == "Rejected dt=1/a.csv"


def test_the_commands_log_names_files_from_the_folder_in_any_spelling(folder, monkeypatch, capsys):
    monkeypatch.chdir(folder.parent)
    logger = logging.getLogger("keras_growing_data")
    with library_log_to_stderr(logging.WARNING, "./incoming/"):
        logger.warning("Rejected %s: %s", str(folder / "dt=1" / "part-0.csv"), "a reason")
        logger.info("Accepted %s", str(folder / "dt=2" / "part-0.csv"))  # Below the level shown.
    with library_log_to_stderr(logging.INFO, None):
        logger.info("Accepted %s", str(folder / "dt=2" / "part-0.csv"))
    assert capsys.readouterr().err.splitlines() == [
        "WARNING: Rejected dt=1/part-0.csv: a reason",
        f"INFO: Accepted {folder}/dt=2/part-0.csv",
    ]

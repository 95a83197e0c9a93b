import logging

from keras_growing_data.sources.disk_space import DiskSpace


def test_a_shortage_is_logged_once_and_its_end_once(caplog):
    space = DiskSpace()
    with caplog.at_level(logging.WARNING, logger="keras_growing_data"):
        space.rows_wait("in/a.csv", "/state/rows", "1.0 MiB", 100, OSError(28, "No space left on device"))
        space.appended_lines_wait("in/b.csv", "/state/rows")
        space.state_waits("/state", OSError(28, "No space left on device"), changes=3)
        space.writes_again()
        space.writes_again()
        space.state_waits("/state", OSError(28, "No space left on device"), changes=3)
    assert [(r.levelname, r.getMessage()[:30]) for r in caplog.records] == [
        ("ERROR", "No space left on the disk: in/"),
        ("WARNING", "Writing works again: new files"),
        ("ERROR", "Cannot save the state in /stat"),
    ]
    assert space.short_in == "[Errno 28] No space left on device"

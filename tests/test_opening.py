import os

import pytest

from keras_growing_data.errors import BadFileError, UnreadableFileError, VanishedFileError
from keras_growing_data.formats.opening import judged_reading, open_file


def test_a_local_file_opens_for_bytes_and_a_url_through_gfile(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"a\n1\n")
    with open_file(str(path)) as f:
        assert f.read() == b"a\n1\n"
    with open_file("file://" + str(path)) as f:
        assert f.read() == b"a\n1\n"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_what_is_not_a_regular_file_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(BadFileError, match="^is not a regular file"):
        open_file(str(tmp_path / "pipe"))


def test_reading_errors_become_verdicts(tmp_path):
    with pytest.raises(VanishedFileError, match="^vanished while being read$"), judged_reading():
        open_file(str(tmp_path / "missing.csv"))
    denied = "^cannot be read now: Permission denied$"
    with pytest.raises(UnreadableFileError, match=denied), judged_reading():
        raise PermissionError(13, "Permission denied")
    with pytest.raises(BadFileError, match="^the content$"), judged_reading():
        raise BadFileError("the content")  # A verdict on the content passes as it is.

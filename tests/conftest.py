import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402


@pytest.fixture
def folder(tmp_path):
    path = tmp_path / "incoming"
    path.mkdir()
    return path

from keras_growing_data.__main__ import main
from keras_growing_data.demo import run_demo


def test_demo_trains_while_the_folder_grows(capsys):
    history = run_demo(epochs=6, files=3, rows_per_file=200, verbose=0)
    out = capsys.readouterr().out
    assert "growth at epoch 1: +1 files, +200 rows -> 200 rows from 1 files" in out
    assert "growth at epoch 2: +1 files, +200 rows -> 400 rows from 2 files" in out
    assert history.history["rows"] == [200, 400, 600, 600, 600, 600]
    assert history.history["files"] == [1, 2, 3, 3, 3, 3]


def test_command_line_runs_the_demo(capsys):
    assert main(["demo", "--epochs", "1"]) == 0
    assert "Trained 1 epochs" in capsys.readouterr().out

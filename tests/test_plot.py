import sys

import keras
import numpy as np
import pytest
from helpers import id_rows, write_csv

import keras_growing_data as kgd

pytest.importorskip("matplotlib")


class DropAfterEpoch(keras.callbacks.Callback):
    def __init__(self, folder, epoch, count):
        super().__init__()
        self.folder, self.epoch, self.count = folder, epoch, count

    def on_epoch_end(self, epoch, logs=None):
        if epoch == self.epoch:
            write_csv(self.folder / "b.csv", id_rows(100, self.count))


def lines_by_label(axes):
    return {line.get_label(): line for line in axes.get_lines() if not line.get_label().startswith("_")}


def test_plots_the_losses_and_the_rows_of_a_real_run(folder, tmp_path):
    write_csv(folder / "a.csv", 20)
    write_csv(tmp_path / "val.csv", 8)
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    data = kgd.GrowingDataCallback(folder, label="price", batch_size=8, settle_seconds=0)
    validation = kgd.GrowingDataCallback(tmp_path, label="price", pattern="val.csv", settle_seconds=0)
    history = kgd.GrowingDatasetTrainer(model, data).fit(
        epochs=3, callbacks=[DropAfterEpoch(folder, 0, 12)], validation_data=validation, verbose=0
    )
    assert history.history["rows"] == [20, 32, 32]

    figure = kgd.plot_growth(history, title="run")
    loss_axes, size_axes, files_axes = figure.axes
    curves = lines_by_label(loss_axes)
    assert sorted(curves) == ["loss", "new rows", "val_loss"]
    np.testing.assert_array_equal(curves["loss"].get_xdata(), [1, 2, 3])
    np.testing.assert_allclose(curves["loss"].get_ydata(), history.history["loss"])
    np.testing.assert_allclose(curves["val_loss"].get_ydata(), history.history["val_loss"])
    growth_marks = [line.get_xdata()[0] for line in loss_axes.get_lines() if line.get_linestyle() == ":"]
    assert growth_marks == [1, 2]
    assert [bar.get_height() for bar in size_axes.patches] == [20, 32, 32]
    assert [bar.get_x() + bar.get_width() / 2 for bar in size_axes.patches] == [1, 2, 3]
    files_line = lines_by_label(files_axes)["files trained on"]
    np.testing.assert_array_equal(files_line.get_ydata(), [1, 2, 2])
    assert figure.get_suptitle() == "run"

    out = tmp_path / "growth.png"
    figure.savefig(out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_history_dict_works_and_epochs_count_from_one():
    logs = {"loss": [3.0, 2.0, 1.5, 1.0], "rows": [5, 5, 9, 9], "files": [1, 1, 2, 2]}
    figure = kgd.plot_growth(logs)
    loss_axes, size_axes, _ = figure.axes
    curves = lines_by_label(loss_axes)
    assert sorted(curves) == ["loss", "new rows"]
    np.testing.assert_array_equal(curves["loss"].get_xdata(), [1, 2, 3, 4])
    growth_marks = [line.get_xdata()[0] for line in loss_axes.get_lines() if line.get_linestyle() == ":"]
    assert growth_marks == [1, 3]
    assert [bar.get_height() for bar in size_axes.patches] == [5, 5, 9, 9]
    assert size_axes.get_xlabel() == "epoch"


def test_a_resumed_run_keeps_its_epoch_numbers():
    history = keras.callbacks.History()
    history.epoch = [3, 4]
    history.history = {"loss": [0.5, 0.4], "rows": [10, 12], "files": [2, 3]}
    curves = lines_by_label(kgd.plot_growth(history).axes[0])
    np.testing.assert_array_equal(curves["loss"].get_xdata(), [4, 5])


def test_every_loss_of_a_multi_output_model_is_drawn():
    logs = {"loss": [2.0], "a_loss": [1.2], "b_loss": [0.8], "a_mae": [0.3], "rows": [4], "files": [1]}
    curves = lines_by_label(kgd.plot_growth(logs).axes[0])
    assert sorted(curves) == ["a_loss", "b_loss", "loss", "new rows"]


def test_a_plain_fit_history_is_refused_with_the_reason():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(np.zeros((4, 2)), np.zeros(4), epochs=1, verbose=0)
    with pytest.raises(ValueError, match="no 'rows' log: pass the History that GrowingDatasetTrainer.fit"):
        kgd.plot_growth(history)
    with pytest.raises(ValueError, match="no epochs"):
        kgd.plot_growth({"rows": [], "loss": []})


def test_missing_matplotlib_names_the_extra(monkeypatch):
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError) as error:
        kgd.plot_growth({"loss": [1.0], "rows": [1], "files": [1]})
    assert str(error.value) == 'plot_growth needs matplotlib: pip install "keras-growing-data[plot]"'


def test_save_plot_writes_the_figure_and_prints_its_path(tmp_path):
    from keras_growing_data.training.plot import save_plot

    out = tmp_path / "growth.png"
    lines = []
    assert save_plot({"loss": [2.0, 1.0], "rows": [10, 20], "files": [1, 2]}, str(out), lines.append)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert lines == [f"Plot of loss and dataset size per epoch: {out}"]


def test_plot_growth_is_exported():
    assert "plot_growth" in kgd.__all__
    from keras_growing_data.training.plot import plot_growth

    assert kgd.plot_growth is plot_growth


def test_a_window_shows_files_that_left_and_marks_files_that_joined_at_level_rows():
    history = {"loss": [4.0, 3.0, 2.0, 1.0], "rows": [10, 20, 20, 20], "files": [1, 2, 2, 2]}
    history["files_left"] = [0, 0, 1, 2]
    figure = kgd.plot_growth(history)
    loss_axes, _, files_axes = figure.axes
    growth_marks = [line.get_xdata()[0] for line in loss_axes.get_lines() if line.get_linestyle() == ":"]
    assert growth_marks == [1, 2, 3, 4]
    curves = lines_by_label(files_axes)
    assert sorted(curves) == ["files that had left the window", "files trained on"]
    np.testing.assert_array_equal(curves["files that had left the window"].get_ydata(), [0, 0, 1, 2])


def test_the_size_axes_say_what_they_count_and_their_legend_covers_no_bar():
    history = {"loss": [4.0, 3.0, 2.0, 1.0], "rows": [10, 20, 20, 20], "files": [1, 2, 2, 2]}
    history["files_left"] = [0, 0, 1, 2]
    figure = kgd.plot_growth(history)
    _, size_axes, files_axes = figure.axes
    # The dashed line counts files that left, so the scale is "files", not "files trained on".
    assert (size_axes.get_ylabel(), files_axes.get_ylabel()) == ("rows", "files")
    assert size_axes.get_legend() is None and files_axes.get_legend() is None
    (legend,) = figure.legends
    labels = [text.get_text() for text in legend.get_texts()]
    assert labels == ["rows trained on", "files trained on", "files that had left the window"]
    figure.draw_without_rendering()  # Lays the figure out, as saving it does.
    legend_box = legend.get_window_extent()
    assert not legend_box.overlaps(size_axes.get_window_extent())
    assert legend_box.y1 < size_axes.get_tightbbox().y0, "below the epoch labels"

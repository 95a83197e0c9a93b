"""The notebooks run top to bottom, are stored small, and the API reference page is current."""

import glob
import importlib.util
import inspect
import os
import re

import pytest

from keras_growing_data.utils.tensorflow_logs import is_start_up_line

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = os.path.join(ROOT, "notebooks")
NAMES = ["01_quickstart.ipynb", "02_real_data.ipynb", "03_monitoring.ipynb", "04_mixed_types.ipynb"]


def load(name):
    spec = importlib.util.spec_from_file_location(name.removesuffix(".py"), os.path.join(NOTEBOOKS, name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_top_to_bottom(name):
    pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("matplotlib")
    if name == "02_real_data.ipynb":
        pytest.importorskip("sklearn")
    if name == "03_monitoring.ipynb":
        pytest.importorskip("tensorboard")
    if name == "04_mixed_types.ipynb":
        pytest.importorskip("statsmodels")
    execute = load("execute.py")
    # Raises on a failing cell, or one that runs 10 minutes (a hang: each takes seconds).
    notebook = execute.execute(os.path.join(NOTEBOOKS, name), timeout=600)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code)
    assert not [o for cell in code for o in cell.outputs if o.output_type == "error"]
    # The last cell shows the growth plot.
    assert "image/png" in code[-1].outputs[0].data


@pytest.mark.parametrize("name", NAMES)
def test_stored_notebook_is_executed_and_small(name):
    nbformat = pytest.importorskip("nbformat")
    path = os.path.join(NOTEBOOKS, name)
    assert os.path.getsize(path) < 100_000
    notebook = nbformat.read(path, as_version=4)
    assert notebook.metadata.kernelspec.name == "python3"
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count for cell in code), "store a run: notebooks/execute.py"
    for cell in code:
        for output in cell.outputs:
            assert output.output_type != "error"
            assert len(output.get("data", {}).get("image/png", "")) < 40_000
            assert len(output.get("text", "").splitlines()) <= 41
            lines = output.get("text", "").splitlines()
            assert not [line for line in lines if is_start_up_line(line) or "rendezvous" in line]


@pytest.mark.parametrize("name", NAMES)
def test_notebook_uses_the_public_api_and_the_readme_s_install_line(name):
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(os.path.join(NOTEBOOKS, name), as_version=4)
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    assert re.findall(r"keras_growing_data\.\w+", code) == [], "only `import keras_growing_data as kgd`"
    text = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    assert re.findall(r"`([^`]*pip install[^`]*)`", text) == ['pip install ".[notebooks]"']
    guide = [os.path.join(ROOT, "README.md"), *glob.glob(os.path.join(ROOT, "docs", "*.md"))]
    assert any('pip install ".[notebooks]"' in open(page).read() for page in guide)


def test_api_reference_page_matches_the_docstrings():
    api = load("api_reference.py")
    page = os.path.join(ROOT, "docs", "reference.md")
    assert api.stored(page) == api.reference(), (
        f"{page}: the API reference is stale; run: python notebooks/api_reference.py --write"
    )


def test_every_public_name_has_a_one_line_summary():
    import keras_growing_data as kgd

    api = load("api_reference.py")
    for name in kgd.__all__:
        line = api.summary(getattr(kgd, name))
        assert line.endswith("."), f"{name}: its docstring needs a one-line summary, got {line!r}"
        if inspect.isclass(getattr(kgd, name)):
            for member, text in api.members(getattr(kgd, name)):
                assert text.endswith("."), f"{name}{member}: its docstring needs a one-line summary"
    reference = api.reference()
    for name in kgd.__all__:
        assert f"| `{name}" in reference
    for command in ("demo", "status", "train"):
        assert f"| `keras-growing-data {command} " in reference

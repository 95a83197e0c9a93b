"""Runs the notebooks top to bottom and stores their outputs, kept small.

Usage, from the repository root (needs the `notebooks` extra):

    python notebooks/execute.py                      # every notebook
    python notebooks/execute.py notebooks/01_quickstart.ipynb

Each notebook runs in a fresh kernel in a temporary folder, so whatever it
writes is thrown away. Timing metadata is dropped, long text outputs are
cut and figures stored with a palette of 256 colours, so the stored
notebooks stay small and diff well. `tests/test_notebooks.py`
runs the same notebooks on every CI run.
"""

import base64
import glob
import io
import os
import sys
import tempfile

import nbformat
from nbclient import NotebookClient
from PIL import Image

from keras_growing_data.utils.tensorflow_logs import is_start_up_line

HERE = os.path.dirname(os.path.abspath(__file__))
MAX_TEXT_LINES = 40
PALETTE_COLOURS = 256


def execute(path: str, timeout: int = 300) -> nbformat.NotebookNode:
    """Executes the notebook at `path` in a fresh kernel; returns it with its outputs."""
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="kgd-notebook-") as cwd:
        env_before = os.environ.get("TF_CPP_MIN_LOG_LEVEL")
        os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"  # The kernel inherits it: no TF start-up noise.
        try:
            NotebookClient(
                notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": cwd}}
            ).execute()
        finally:
            if env_before is None:
                os.environ.pop("TF_CPP_MIN_LOG_LEVEL")
            else:
                os.environ["TF_CPP_MIN_LOG_LEVEL"] = env_before
    return notebook


def smaller_png(encoded: str) -> str:
    """A base64 PNG stored with a palette: a third of the bytes, and a plot looks the same."""
    image = Image.open(io.BytesIO(base64.b64decode(encoded))).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=PALETTE_COLOURS).save(out, format="PNG", optimize=True)
    return base64.b64encode(out.getvalue()).decode("ascii")


def shrink(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Drops timing metadata and TensorFlow's C++ log lines, merges and cuts text outputs, shrinks PNGs.

    TensorFlow writes its start-up lines before it reads `TF_CPP_MIN_LOG_LEVEL`
    (see `keras_growing_data.utils.tensorflow_logs`), so the kernel's stderr holds
    them whatever `execute` sets; a reader should see the library's own
    output and warnings only.
    """
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
        outputs = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                output.text = "".join(
                    line for line in output.text.splitlines(keepends=True) if not is_start_up_line(line)
                )
                if not output.text:
                    continue
                if outputs and outputs[-1].get("output_type") == "stream" and outputs[-1].name == output.name:
                    outputs[-1].text += output.text
                    continue
            outputs.append(output)
        for output in outputs:
            if "image/png" in output.get("data", {}):
                output.data["image/png"] = smaller_png(output.data["image/png"])
            if output.get("output_type") == "stream":
                lines = output.text.splitlines(keepends=True)
                if len(lines) > MAX_TEXT_LINES:
                    cut = len(lines) - MAX_TEXT_LINES
                    output.text = "".join(lines[:MAX_TEXT_LINES]) + f"[... {cut} more lines]\n"
        if cell.cell_type == "code":
            cell.outputs = outputs
    return notebook


def main(paths: list[str]) -> None:
    for path in paths or sorted(glob.glob(os.path.join(HERE, "*.ipynb"))):
        notebook = shrink(execute(path))
        nbformat.write(notebook, path)
        print(f"{path}: {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main(sys.argv[1:])

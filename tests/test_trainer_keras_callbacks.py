"""Keras's own callback tests pass with their array fits trained by `GrowingDatasetTrainer`.

Runs the installed Keras's `keras/src/callbacks/*_test.py` in a fresh pytest
process with the `keras_callback_suite` plugin, which routes every
`model.fit(x, y, ...)` on arrays through `GrowingDatasetTrainer` (see that
module), on this process's backend (`KERAS_BACKEND`), and prints the table of
tests and routed fits. Slow: one to two minutes on two cores.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import keras
import keras_callback_suite as suite
import pytest

TESTS = Path(__file__).resolve().parent
CALLBACK_TESTS = Path(keras.__file__).resolve().parent / "src" / "callbacks"

# Models with `Input((10, 10, 1))` (or an image input): the router only routes `x` of shape
# (rows, features), which the trainer serves as one float32 matrix.
_IMAGE_INPUT_TESTS = (
    "test_TensorBoard_across_invocations",
    "test_TensorBoard_auto_trace",
    "test_TensorBoard_basic",
    "test_TensorBoard_batch_metrics",
    "test_TensorBoard_global_step",
    "test_TensorBoard_learning_rate_schedules",
    "test_TensorBoard_no_spurious_event_files",
    "test_TensorBoard_weight_histograms",
    "test_TensorBoard_weight_images",
)

# The tests whose fits stay with Keras's `fit`, each with what the reason must say.
EXPECTED_FALLBACKS = {
    # `GrowingDatasetTrainer.fit` refuses `validation_split` (the rows held out would change).
    "lambda_callback_test.py::LambdaCallbackTest::test_lambda_callback": "validation_split=",
    "lambda_callback_test.py::LambdaCallbackTest::test_lambda_callback_with_batches": "validation_split=",
    **{f"tensorboard_test.py::TestTensorBoardV2::{name}": "x has 4 dims" for name in _IMAGE_INPUT_TESTS},
}

# Test files none of whose tests routes a fit, and why.
FILES_NOT_ROUTED = {
    "remote_monitor_test.py": "its one test that fits compares the epoch logs exactly (deselected)",
}

TIMEOUT_SECONDS = 1800


def run_suite(tmp_path: Path, pad: bool) -> tuple[subprocess.CompletedProcess, dict]:
    """Runs Keras's callback tests with the plugin, in `tmp_path`; returns the process and its report.

    With `pad`, every routed fit pads its last batch where padding can be exact.
    """
    report_path = tmp_path / "report.json"
    path = [str(TESTS), str(TESTS.parent), os.environ.get("PYTHONPATH", "")]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in path if p),
        suite.REPORT_ENV: str(report_path),
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    env.pop(suite.KEEP_ALL_ENV, None)
    env[suite.PAD_ENV] = "1" if pad else "0"
    files = sorted(str(p) for p in CALLBACK_TESTS.glob("*_test.py"))
    command = [sys.executable, "-m", "pytest", "-p", "keras_callback_suite", "-p", "no:cacheprovider"]
    command += ["-q", "-W", "ignore", *files]
    process = subprocess.run(
        command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=TIMEOUT_SECONDS
    )
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    return process, report


def problems_of(report: dict) -> list[str]:
    """Whatever in `report` is not as expected: fits routed per file, fallbacks only where expected."""
    problems = []
    tests = {suite.short_id(t["nodeid"]): t for t in report["tests"]}
    routed = {}
    for key, test in tests.items():
        file_name = key.split("::")[0]
        routed[file_name] = routed.get(file_name, 0) + test["routed"]
        expected = EXPECTED_FALLBACKS.get(key)
        for reason in test["fallback"]:
            if expected is None or expected not in reason:
                problems.append(f"{key}: a fit fell back: {reason}")
        ran = test["outcome"] in ("passed", "failed", "error")
        if expected is not None and ran and not test["fallback"]:
            problems.append(f"{key}: expected a fit to fall back ({expected}), none did")
        if test["outcome"] in ("failed", "error", "not run"):
            problems.append(f"{key}: {test['outcome']}")
    for path in sorted(CALLBACK_TESTS.glob("*_test.py")):
        name = path.name
        if name in report["ignored"] or name in FILES_NOT_ROUTED:
            continue
        if not routed.get(name):
            problems.append(f"{name}: no fit was routed")
    for name in FILES_NOT_ROUTED:
        if routed.get(name):
            problems.append(f"{name}: routed {routed[name]} fits; remove it from FILES_NOT_ROUTED")
    return problems


# JAX pads every compiled model's last batch already ("auto"); on TensorFlow's CPU "auto" does
# not pad, so the suite runs a second time padded there. (Padded on torch it passed too, 59 tests
# in 85 s; it is left out to keep CI's time.)
PADDINGS = ["auto"] + (["padded"] if keras.backend.backend() == "tensorflow" else [])


@pytest.mark.parametrize("padding", PADDINGS)
def test_keras_callback_tests_pass_through_the_trainer(tmp_path, capsys, padding):
    process, report = run_suite(tmp_path, pad=padding == "padded")
    output = process.stdout[-20000:] + process.stderr[-5000:]
    assert report is not None, f"no report; the suite's output:\n{output}"
    table = "\n".join(
        [
            f"backend {report['backend']}, padding {padding}, patched {report['patched']}, "
            f"{report['seconds']} s",
            *(f"ignored {name}: {reason}" for name, reason in sorted(report["ignored"].items())),
            suite.format_table(report["tests"]),
            suite.summary(report["tests"]),
        ]
    )
    with capsys.disabled():  # The table shows in every run, CI's included.
        print(f"\nKeras's callback tests through GrowingDatasetTrainer:\n{table}")
    problems = problems_of(report)
    if process.returncode != 0:
        problems.append(f"the suite exited with {process.returncode}")
    assert not problems, "\n".join([*problems, "", table, "", "The suite's output:", output])

"""A pytest plugin that runs Keras's own callback tests with array fits trained by `GrowingDatasetTrainer`.

Load it with `-p keras_callback_suite` (this folder on `PYTHONPATH`) in a
session over the installed Keras's `keras/src/callbacks/` tests. At session
start it replaces `fit` on the class that `keras.Model.fit` resolves to (the
backend's trainer: `TensorFlowTrainer`, `JAXTrainer` or `TorchTrainer`)
with a router. A `fit(x, y, ...)` on NumPy arrays that the trainer can take
is written to a fresh folder as CSV, every value float32 (`'%.9g'`, which
round-trips), and trained by
`GrowingDatasetTrainer(model, GrowingDataCallback(folder, ...)).fit(...)`;
any other call runs the original `fit` and is recorded with the reason.
So the tests that pass prove the trainer indistinguishable from one
`model.fit` to every callback they check.

At the end the session prints a table: each test, its outcome, how many of
its fits were routed and how many fell back, and why; with
`KGD_SUITE_REPORT=path` it also writes them as JSON.

Example (from any folder; `tests/` of this repository on the path):

```
PYTHONPATH=tests python -m pytest -p keras_callback_suite -p no:cacheprovider \\
    "$(python -c 'import keras, os; print(os.path.dirname(keras.__file__))')/src/callbacks"
```
"""

import importlib.util
import inspect
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import types

import numpy as np
import pytest

REPORT_ENV = "KGD_SUITE_REPORT"
# `KGD_SUITE_KEEP_ALL=1` runs the tests of `DESELECTED` too, to see them fail.
KEEP_ALL_ENV = "KGD_SUITE_KEEP_ALL"
# `KGD_SUITE_PAD=1` pads every routed fit's last batch (`pad_last_batch=True`), which `"auto"`
# does on JAX but not on TensorFlow's CPU.
PAD_ENV = "KGD_SUITE_PAD"

# Tests left out on purpose: they check something the trainer changes by design.
# Keyed by "<file>::<class>::<test>"; the value is the reason.
DESELECTED = {
    # The trainer adds `rows` and `files` to the epoch logs.
    "csv_logger_test.py::CSVLoggerTest::test_CSVLogger": (
        "counts the CSV's columns (4 separators per line); the epoch logs gain `rows` and `files`"
    ),
    "tensorboard_test.py::TestTensorBoardV2::test_custom_summary": (
        "compares the set of scalar summaries exactly; the epoch logs gain `rows` and `files` "
        "(epoch_rows, epoch_files)"
    ),
    "remote_monitor_test.py::TerminateOnNaNTest::test_RemoteMonitorWithJsonPayload": (
        "compares the JSON payload exactly; the epoch logs gain `rows` and `files`"
    ),
    # The CSV ingest rejects a file with a NaN or infinite value (a NaN reads as missing).
    **{
        f"terminate_on_nan_test.py::TerminateOnNaNTest::{name}": (
            "y holds inf; the CSV ingest rejects non-finite values"
        )
        for name in (
            "test_terminate_on_nan_graceful_stop",
            "test_terminate_on_nan_raise_error_raises_error",
            "test_raise_error_terminate_does_not_trigger_on_train_end",
            "test_raise_error_terminate_preserves_backup",
            "test_raise_error_terminate_stops_on_later_batch",
        )
    },
}

# Test files not collected, each with the module it needs that may be missing.
NEEDS_MODULE = {
    "orbax_checkpoint_test.py": "orbax",
}

# `fit` arguments the router passes on; any other one given a value other than
# its default makes the call fall back to Keras's `fit`.
_PASSED_ON = {"epochs", "verbose", "callbacks", "validation_data", "class_weight", "initial_epoch"}
_PASSED_ON |= {"validation_freq", "validation_batch_size", "batch_size", "shuffle", "x", "y"}


class _Test:
    """What one test did: its outcome, and the fits it routed or left to Keras."""

    def __init__(self, nodeid: str):
        self.nodeid = nodeid
        self.outcome = "not run"
        self.reason = ""  # Why it was skipped or deselected.
        self.routed = 0
        self.fallback = []  # One reason per fit left to Keras.

    def to_json(self) -> dict:
        return {
            "nodeid": self.nodeid,
            "file": self.nodeid.split("::")[0],
            "outcome": self.outcome,
            "reason": self.reason,
            "routed": self.routed,
            "fallback": list(self.fallback),
        }


class _Router:
    """Replaces `fit` on the class Keras models take it from; records each call's route."""

    def __init__(self):
        self.tests = {}
        self.current = None  # The `_Test` now running.
        self.outside = _Test("(outside any test)")
        self._inside = threading.local()  # The trainer's own epoch fits pass straight through.
        self._owner = None
        self._original = None
        self._signature = None
        self.started = time.monotonic()

    def install(self) -> None:
        from keras.src.models.model import Model

        self._owner = next(cls for cls in Model.__mro__ if "fit" in vars(cls))
        self._original = vars(self._owner)["fit"]
        self._signature = inspect.signature(self._original)
        router = self

        def fit(model, *args, **kwargs):
            return router.fit(model, *args, **kwargs)

        fit.__doc__ = self._original.__doc__
        fit.__wrapped__ = self._original
        self._owner.fit = fit

    def uninstall(self) -> None:
        if self._owner is not None:
            self._owner.fit = self._original
            self._owner = None

    @property
    def patched(self) -> str:
        owner = self._owner
        return "" if owner is None else f"{owner.__module__}.{owner.__qualname__}.fit"

    def fit(self, model, *args, **kwargs):
        if getattr(self._inside, "depth", 0):
            return self._original(model, *args, **kwargs)
        arguments = self._signature.bind(model, *args, **kwargs)
        arguments.apply_defaults()
        given = dict(arguments.arguments)
        given.pop(next(iter(self._signature.parameters)))  # self
        test = self.current or self.outside
        reason, plan = _route(given, self._signature)
        if reason:
            test.fallback.append(reason)
            return self._original(model, *args, **kwargs)
        test.routed += 1
        return self._train(model, given, plan)

    def _train(self, model, given: dict, plan: dict):
        import keras_growing_data as kgd

        folder = tempfile.mkdtemp(prefix="kgd_fit_")
        try:
            _write_csv(os.path.join(folder, "rows.csv"), plan["x"], plan["y"], plan["header"])
            data = kgd.GrowingDataCallback(
                folder,
                label=plan["label"],
                batch_size=plan["batch_size"],
                shuffle=bool(given["shuffle"]),
                settle_seconds=0,
                pad_last_batch=_pad_last_batch(model),
                columns={name: "float32" for name in plan["header"]},
            )
            self._inside.depth = getattr(self._inside, "depth", 0) + 1
            try:
                return kgd.GrowingDatasetTrainer(model, data).fit(
                    epochs=given["epochs"],
                    callbacks=given["callbacks"],
                    verbose=given["verbose"],
                    validation_data=given["validation_data"],
                    initial_epoch=given["initial_epoch"],
                    validation_freq=given["validation_freq"],
                    validation_batch_size=given["validation_batch_size"],
                    class_weight=given["class_weight"],
                )
            finally:
                self._inside.depth -= 1
        finally:
            shutil.rmtree(folder, ignore_errors=True)


def _pad_last_batch(model) -> bool | str:
    """`True` with `KGD_SUITE_PAD=1` where padding can be exact (else "auto" leaves it), else `"auto"`."""
    from keras_growing_data.training.padded_metrics import padding_changes

    if os.environ.get(PAD_ENV) == "1" and padding_changes(model) is None:
        return True
    return "auto"


def _route(given: dict, signature: inspect.Signature) -> tuple[str, dict | None]:
    """`("", plan)` for a call the trainer can take, else `(why not, None)`."""
    for name, value in given.items():
        if name in _PASSED_ON:
            continue
        default = signature.parameters[name].default
        if not _is_default(value, default):
            return f"{name}={_short(value)}", None
    x, why = _numeric_array(given["x"], "x")
    if why:
        return why, None
    y, why = _numeric_array(given["y"], "y")
    if why:
        return why, None
    if x.ndim != 2:
        return f"x has {x.ndim} dims {x.shape} (only (rows, features) is routed)", None
    if y.ndim not in (1, 2):
        return f"y has {y.ndim} dims {y.shape}", None
    if len(x) == 0 or len(x) != len(y):
        return f"x has {len(x)} rows and y {len(y)}", None
    shuffle = given["shuffle"]
    if not isinstance(shuffle, bool | np.bool_):
        return f"shuffle={shuffle!r}", None
    batch_size = 32 if given["batch_size"] is None else given["batch_size"]
    if not isinstance(batch_size, int) or isinstance(batch_size, bool):
        return f"batch_size={batch_size!r}", None
    callbacks = given["callbacks"]
    if callbacks is not None and not isinstance(callbacks, list | tuple):
        return f"callbacks is a {type(callbacks).__name__}", None
    features = [f"x{i}" for i in range(x.shape[1])]
    labels = ["y"] if y.ndim == 1 else [f"y{i}" for i in range(y.shape[1])]
    plan = {
        "x": x,
        "y": y,
        "header": features + labels,
        "label": "y" if y.ndim == 1 else labels,
        "batch_size": batch_size,
    }
    return "", plan


def _is_default(value, default) -> bool:
    if value is default:
        return True
    try:
        return bool(value == default)
    except (TypeError, ValueError):  # An array compares elementwise: not a default.
        return False


def _short(value) -> str:
    if isinstance(value, np.ndarray):
        return f"array{value.shape}"
    text = repr(value)
    return text if len(text) <= 40 else type(value).__name__


def _numeric_array(value, name: str) -> tuple[np.ndarray | None, str]:
    """`value` as a numeric NumPy array, or `(None, why not)`."""
    if value is None:
        return None, f"{name} is None"
    if isinstance(value, list | tuple):
        if any(isinstance(item, np.ndarray) for item in value):
            return None, f"{name} is a {type(value).__name__} of arrays (several inputs or outputs)"
        try:
            value = np.asarray(value)
        except ValueError:
            return None, f"{name} is a ragged {type(value).__name__}"
    if not isinstance(value, np.ndarray):
        return None, f"{name} is a {type(value).__module__}.{type(value).__name__}"
    if value.dtype.kind not in "biuf":
        return None, f"{name} has dtype {value.dtype}"
    return value, ""


def _write_csv(path: str, x: np.ndarray, y: np.ndarray, header: list[str]) -> None:
    """Writes the rows `[x, y]` as float32 values that read back exactly (`'%.9g'`)."""
    rows = np.concatenate([x.astype(np.float32), y.reshape(len(y), -1).astype(np.float32)], axis=1)
    np.savetxt(path, rows, fmt="%.9g", delimiter=",", header=",".join(header), comments="")


def short_id(nodeid: str) -> str:
    """`"<file>::<class>::<test>"` of a node id, whatever folder pytest counts it from."""
    path, _, rest = nodeid.partition("::")
    return f"{os.path.basename(path)}::{rest}"


def format_table(tests: list[dict]) -> str:
    """The table of `tests` (as in the JSON report): test | outcome | routed | fell back | why not routed."""
    header = ("test", "outcome", "routed", "fell back", "why not routed")
    rows = []
    for test in sorted(tests, key=lambda t: short_id(t["nodeid"])):
        why = sorted(set(test["fallback"]))
        if test["outcome"] in ("deselected", "skipped") and test["reason"]:
            why = [f"{test['outcome']}: {test['reason']}", *why]
        rows.append(
            (
                short_id(test["nodeid"]),
                test["outcome"],
                str(test["routed"]),
                str(len(test["fallback"])),
                "; ".join(why),
            )
        )
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    widths[-1] = len(header[-1])

    def line(cells):
        return " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    lines = [line(header), "-+-".join("-" * w for w in widths)]
    lines += [line(r) for r in rows]
    return "\n".join(lines)


def summary(tests: list[dict]) -> str:
    """One line: tests by outcome, and how many routed at least one fit."""
    counts = {}
    for test in tests:
        counts[test["outcome"]] = counts.get(test["outcome"], 0) + 1
    routed = sum(1 for t in tests if t["routed"])
    fits = sum(t["routed"] for t in tests)
    fallbacks = sum(len(t["fallback"]) for t in tests)
    parts = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
    return f"{parts}; {routed} tests routed {fits} fits, {fallbacks} fits fell back"


# --- pytest hooks -------------------------------------------------------------

_router = _Router()
_ignored = {}  # Test file name -> why it was left out.


def _skip_if_backend(given_backend, reason):
    """The Keras repository's root `conftest.skip_if_backend` (not shipped in the wheel)."""
    import keras

    return pytest.mark.skipif(keras.backend.backend() == given_backend, reason=reason)


def _provide_skip_if_backend() -> None:
    """`remote_monitor_test.py` does `from conftest import skip_if_backend`: a stub `conftest` gives it."""
    module = sys.modules.get("conftest")
    if module is None:
        module = types.ModuleType("conftest", "Stands in for the Keras repository's root conftest.")
        sys.modules["conftest"] = module
    if not hasattr(module, "skip_if_backend"):
        module.skip_if_backend = _skip_if_backend


def pytest_configure(config):
    config.addinivalue_line("markers", "requires_trainable_backend: the test trains a model (Keras's mark).")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    _provide_skip_if_backend()
    _router.install()
    _router.started = time.monotonic()


def pytest_unconfigure(config):
    _router.uninstall()


def _missing_module(file_name: str) -> str:
    """Why the test file `file_name` cannot run here, or `""`."""
    needs = NEEDS_MODULE.get(file_name)
    if needs and importlib.util.find_spec(needs) is None:
        return f"needs {needs}, which is not installed"
    return ""


def pytest_ignore_collect(collection_path, config):
    """Leaves out a test file that needs a missing module, when pytest collects a folder."""
    reason = _missing_module(collection_path.name)
    if reason:
        _ignored[collection_path.name] = reason
        return True
    return None


def pytest_collection_modifyitems(session, config, items):
    """Leaves out the tests of `DESELECTED`, and those of a file named on the command line that cannot run."""
    keep_all = os.environ.get(KEEP_ALL_ENV) == "1"
    kept, dropped = [], []
    for item in items:
        missing = _missing_module(item.path.name)
        reason = None if keep_all else DESELECTED.get(short_id(item.nodeid))
        if missing:
            _ignored[item.path.name] = missing
        elif reason is None:
            kept.append(item)
            continue
        else:
            test = _router.tests.setdefault(item.nodeid, _Test(item.nodeid))
            test.outcome, test.reason = "deselected", reason
        dropped.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _router.current = _router.tests.setdefault(item.nodeid, _Test(item.nodeid))
    try:
        return (yield)
    finally:
        _router.current = None


def pytest_runtest_logreport(report):
    test = _router.tests.setdefault(report.nodeid, _Test(report.nodeid))
    if report.when == "call" or (report.when == "setup" and not report.passed):
        test.outcome = report.outcome
        if report.skipped and isinstance(report.longrepr, tuple):
            test.reason = str(report.longrepr[2]).removeprefix("Skipped: ")
        if report.when == "setup" and report.failed:
            test.outcome = "error"
    elif report.when == "teardown" and report.failed:
        test.outcome = "error"


def _report() -> dict:
    import keras

    import keras_growing_data

    tests = [t.to_json() for t in _router.tests.values()]
    if _router.outside.routed or _router.outside.fallback:
        tests.append(_router.outside.to_json())
    return {
        "backend": keras.backend.backend(),
        "keras": keras.__version__,
        "patched": _router.patched,
        "keras_growing_data": os.path.dirname(keras_growing_data.__file__),
        "seconds": round(time.monotonic() - _router.started, 1),
        "ignored": dict(_ignored),
        "tests": tests,
    }


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    report = _report()
    write = terminalreporter.write_line
    terminalreporter.section("fits routed through GrowingDatasetTrainer")
    write(f"backend {report['backend']}, Keras {report['keras']}, patched {report['patched']}")
    write(f"keras_growing_data from {report['keras_growing_data']}")
    for name, reason in sorted(report["ignored"].items()):
        write(f"ignored {name}: {reason}")
    for row in format_table(report["tests"]).splitlines():
        write(row)
    write(summary(report["tests"]) + f"; {report['seconds']} s")
    path = os.environ.get(REPORT_ENV)
    if path:
        with open(path, "w") as f:
            json.dump(report, f, indent=1)

"""Keeps TensorFlow's C++ start-up log lines off a user's screen.

TensorFlow 2.21 writes several lines to stderr while its libraries load
(`All log messages before absl::InitializeLog() is called ...`, oneDNN and
CUDA notices), before it reads `TF_CPP_MIN_LOG_LEVEL`, so that variable
cannot hide them; it does hide the later ones (`failed call to cuInit`, a
failed op's `Local rendezvous is aborting ...`).
"""

import contextlib
import faulthandler
import os
import re
import sys
import tempfile

# An absl log line below FATAL (`I0000 00:00:1796218066.580120    6609 port.cc:153] ...`),
# its preamble, and the continuation line of the CPU-instructions notice. A fatal
# (`F...`) line is never hidden: it says why TensorFlow could not start.
_START_UP = re.compile(
    r"^([IWE]\d{4} \d\d:\d\d:[\d.]+ +\d+ [\w.-]+:\d+\]|WARNING: All log messages before absl::InitializeLog"
    r"|To enable the following instructions:)"
)


def is_start_up_line(line: str) -> bool:
    """Whether a line of stderr is TensorFlow's C++ logging."""
    return bool(_START_UP.match(line))


def import_tensorflow_quietly() -> None:
    """Imports TensorFlow, leaving out its C++ start-up lines and passing on any other output.

    Hides the later C++ log lines too, by setting `TF_CPP_MIN_LOG_LEVEL=3`
    unless the user set it. If the import fails, everything it wrote is
    passed on, with the error. A no-op once TensorFlow is imported.
    """
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    lines = []
    try:
        with _stderr_lines(lines):
            import tensorflow  # noqa: F401
    except BaseException:
        sys.stderr.write("".join(lines))
        raise
    sys.stderr.write("".join(line for line in lines if not is_start_up_line(line)))


@contextlib.contextmanager
def _stderr_lines(lines: list[str]):
    """Captures what is written to file descriptor 2 (C++ code too) into `lines`.

    While it captures, a crash of the process (an abort in C++, say) still
    prints Python's fatal-error report on the real stderr (`faulthandler`).
    """
    sys.stderr.flush()
    saved = os.dup(2)
    crash_report = os.fdopen(os.dup(saved), "w")
    handler_was_on = faulthandler.is_enabled()
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        faulthandler.enable(crash_report)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if handler_was_on:
                faulthandler.enable(sys.stderr)
            else:
                faulthandler.disable()
            crash_report.close()
            captured.seek(0)
            lines += captured.read().decode(errors="replace").splitlines(keepends=True)

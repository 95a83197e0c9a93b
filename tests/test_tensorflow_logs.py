import json
import os
import subprocess
import sys

import numpy as np
from helpers import OLD, run_python

from keras_growing_data.utils.tensorflow_logs import is_start_up_line

# Lines TensorFlow 2.21 wrote to stderr here: at start-up, before it reads
# TF_CPP_MIN_LOG_LEVEL, and later (hidden by TF_CPP_MIN_LOG_LEVEL=3).
TENSORFLOW_LINES = [
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR",
    "I0000 00:00:1796218066.580120    6609 port.cc:153] oneDNN custom operations are on.",
    "I0000 00:00:1796218066.580560    6609 cudart_stub.cc:31] Could not find cuda drivers on your machine",
    "I0000 00:00:1796218066.706460    6609 cpu_feature_guard.cc:227] This TensorFlow binary is optimized",
    "To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow",
    "E0000 00:00:1796218078.688571    6609 cuda_platform.cc:52] failed call to cuInit: INTERNAL",
    "W0000 00:00:1796218079.171705    6731 local_rendezvous.cc:412] Local rendezvous is aborting",
]
OURS = [
    "WARNING: Rejected /data/b.csv: line 3, column 'b': expected a number, found 'zz'",
    "I0000 is a fine file name",
    "keras-growing-data train: error: No training rows in '/data'",
]


def test_tensorflow_log_lines_are_told_from_ours():
    assert [is_start_up_line(line) for line in TENSORFLOW_LINES] == [True] * len(TENSORFLOW_LINES)
    assert [is_start_up_line(line) for line in OURS] == [False] * len(OURS)


QUIET_IMPORT = """
from keras_growing_data.utils.tensorflow_logs import import_tensorflow_quietly
print("before", file=sys.stderr, flush=True)
import_tensorflow_quietly()
import tensorflow as tf
print("after", int(tf.constant(2) + 1), file=sys.stderr)
"""


def test_tensorflow_imports_without_its_start_up_lines(tmp_path):
    run = run_python(tmp_path, QUIET_IMPORT)
    assert run.returncode == 0, run.stderr.decode()
    assert run.stderr.decode().splitlines() == ["before", "after 3"]


FAILED_IMPORT = """
import os
fake = os.path.join(sys.argv[1], "tensorflow")
os.makedirs(fake)
with open(os.path.join(fake, "__init__.py"), "w") as f:
    f.write("import os\\n")
    f.write("os.write(2, b'I0000 00:00:1.5 1 dso.cc:1] libcudnn.so.9: cannot open\\\\n')\\n")
    f.write("raise ImportError('no libcudnn')\\n")
sys.path.insert(0, sys.argv[1])
from keras_growing_data.utils.tensorflow_logs import import_tensorflow_quietly
try:
    import_tensorflow_quietly()
except ImportError as e:
    print("raised", e, file=sys.stderr)
"""


def test_a_failed_import_passes_on_every_line_it_wrote(tmp_path):
    run = run_python(tmp_path, FAILED_IMPORT, tmp_path / "fake")
    assert run.returncode == 0, run.stderr.decode()
    assert run.stderr.decode().splitlines() == [
        "I0000 00:00:1.5 1 dso.cc:1] libcudnn.so.9: cannot open",
        "raised no libcudnn",
    ]


YEARS = [str(year) for year in range(1960, 2014)]


def write_world_bank_table(path, seed, shuffled=False, bad_line=None) -> int:
    """A table shaped like the World Bank's (statsmodels' `fertility`): 58 columns, quoted names, gaps.

    `shuffled`: its columns come in an order of their own, as producers may write them; `bad_line`
    replaces line 5. Returns how many of its rows have every year's value.
    """
    rng = np.random.default_rng(seed)
    header = ["Country Name", "Country Code", "Indicator Name", "Indicator Code", *YEARS]
    order = rng.permutation(len(header)) if shuffled else np.arange(len(header))
    lines = [",".join(header[j] for j in order)]
    complete = []
    for i in range(30):
        values = [f"{value:.3f}" for value in rng.uniform(1, 8, 54)]
        if i % 3 == 1:
            values[rng.integers(54)] = ""
        if i % 5 == 2:
            values[7] = "NA"  # As R writes a missing value.
        fields = [f"Country {i}", f"C{i:02d}", '"Fertility rate, total"', "SP.DYN", *values]
        lines.append(",".join(fields[j] for j in order))
        complete.append(i % 3 != 1 and i % 5 != 2)
    if bad_line is not None:
        lines[4], complete[3] = bad_line, False
    path.write_text("\n".join(lines) + "\n")
    os.utime(path, (OLD + seed, OLD + seed))
    return sum(complete)


POLLS = """
import json
import tensorflow as tf

tf.constant(1) + 1  # TensorFlow's start-up lines, before the polls.
import keras_growing_data as kgd

print("polling", file=sys.stderr, flush=True)
years = [str(year) for year in range(1960, 2014)]
for options in ({"defaults": dict.fromkeys(years, float("nan"))}, {"on_bad_row": "skip"}, {}):
    data = kgd.GrowingDataCallback(sys.argv[1], label="2013", settle_seconds=0, **options)
    data.poll()
    reasons = {path: file.reason for path, file in data.rejected.items()}
    print(json.dumps([data.num_rows, reasons]), flush=True)
"""


def world_bank_folder(folder) -> int:
    """Writes 7 tables, 3 with a bad line; returns how many of their rows have every value."""
    complete = sum(
        write_world_bank_table(folder / f"wb-{seed}.csv", seed, shuffled=seed > 0) for seed in range(4)
    )
    complete += write_world_bank_table(folder / "width.csv", 4, bad_line="Country 3,C03,1.5")
    complete += write_world_bank_table(
        folder / "text.csv", 5, bad_line='C3,C03,"x",SP,' + ",".join(["abc"] * 54)
    )
    return complete + write_world_bank_table(
        folder / "quote.csv", 6, bad_line='C3,C"03,"x",SP,' + "1," * 53 + "1"
    )


def test_a_poll_over_real_tables_prints_our_reasons_and_none_of_tensorflows_lines(tmp_path, folder):
    # Empty fields and NA, filled by defaults or skipped, made TensorFlow log a failed op per file, and
    # 58 columns made it warn of retracing (`WARNING:tensorflow:5 out of the last 5 calls to <function
    # _on_chunks.<locals>.on_chunk ...> triggered tf.function retracing`).
    complete = world_bank_folder(folder)
    run = run_python(tmp_path, POLLS, folder, env={"TF_CPP_MIN_LOG_LEVEL": "0"})
    assert run.returncode == 0, run.stderr.decode()
    (filled, filled_rejected), (skipped, skipped_rejected), (_, rejected) = map(
        json.loads, run.stdout.splitlines()
    )
    assert (filled, skipped) == (4 * 30, complete)
    assert filled_rejected == {
        str(folder / "width.csv"): "line 5: expected 58 fields, found 3",
        str(folder / "text.csv"): "line 5, column '1960': expected a number, found 'abc'",
        str(folder / "quote.csv"): "line 5: not CSV: a quote inside an unquoted field",
    }
    assert skipped_rejected == {} and len(rejected) == 7
    reasons = [*filled_rejected.items(), *rejected.items()]
    assert run.stderr.decode().split("polling\n", 1)[1].splitlines() == [
        f"Rejected {path}: {reason}" for path, reason in reasons
    ]


def test_status_over_real_tables_prints_our_reasons_and_none_of_tensorflows_lines(folder):
    world_bank_folder(folder)
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    result = subprocess.run(
        [sys.executable, "-m", "keras_growing_data", "status", str(folder), "--label", "2013"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 1
    # The files' own column orders made TensorFlow warn: "WARNING:tensorflow:5 out of the last 6 calls to
    # <function _on_chunks.<locals>.on_chunk ...> triggered tf.function retracing".
    assert result.stderr == ""
    report = result.stdout.splitlines()
    assert report[0] == f"{folder}: 0 accepted (0 rows), 0 pending, 7 rejected" and len(report) == 8

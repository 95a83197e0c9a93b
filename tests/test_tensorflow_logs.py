from helpers import run_python

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

import json

import numpy as np
from helpers import run_python

from keras_growing_data.formats.csv import tf_parser

# Values a column may hold in real files: numbers of every spelling, the missing ones, text, overflow.
TOKENS = [
    "1", "-2.5", " 3 ", "4e2", "0x1p3", ".5", "5.", "+6", "", "NA", "nan", "-inf", "N/A", "abc", '"7"',
    '"x,y"', "1_000", "1e39", "99999999999999999999", "9223372036854775807", "-", ".", "1.2.3", "é",
]  # fmt: skip
COLUMNS = {"f": "float32", "i": "int64", "s": "string", "price": "float32"}


READS = """
import json, pathlib, random
import tensorflow as tf

tf.constant(1) + 1  # TensorFlow's start-up lines, before the reads.
from keras_growing_data.errors import BadFileError
from keras_growing_data.formats.csv.csv_format import CsvFormat

tokens, columns = json.loads(sys.argv[2]), json.loads(sys.argv[3])
rng = random.Random(3)
print("reading", file=sys.stderr, flush=True)
outcomes = []
for defaults in ({}, {"f": 0.0, "i": -1, "s": "?"}):
    reader = CsvFormat(label="price", parser="tensorflow", columns=columns, defaults=defaults)
    for trial in range(40):
        lines = ["f,i,s,price,ignored"]
        for _ in range(rng.choice([3, 40])):
            values = [rng.choice(tokens) if rng.random() < 0.1 else str(rng.randint(0, 9)) for _ in range(5)]
            lines.append(",".join(values))
        path = pathlib.Path(sys.argv[1]) / f"{trial}.csv"
        path.write_text("\\n".join(lines) + "\\n")
        try:
            parsed = reader.read(str(path), skip_bad_rows=trial % 2 == 1)
            outcomes.append(["accepted", parsed.num_rows + len(parsed.skipped) == parsed.lines - 1])
        except BadFileError as e:
            outcomes.append(["rejected", str(e)])
print(json.dumps(outcomes))
"""


def test_no_value_makes_a_tensorflow_op_fail_every_bad_one_is_named(tmp_path):
    # A failed op made TensorFlow log to stderr (local_rendezvous.cc), and was tried again as text.
    run = run_python(
        tmp_path, READS, tmp_path, json.dumps(TOKENS), json.dumps(COLUMNS), env={"TF_CPP_MIN_LOG_LEVEL": "0"}
    )
    assert run.returncode == 0, run.stderr.decode()
    assert run.stderr.decode().split("reading\n", 1)[1] == ""
    outcomes = json.loads(run.stdout)
    accepted = [counted for outcome, counted in outcomes if outcome == "accepted"]
    rejected = [reason for outcome, reason in outcomes if outcome == "rejected"]
    assert all(accepted) and len(accepted) >= 10 and len(rejected) >= 10
    assert [r for r in rejected if not r.startswith(("line ", "every data row is bad"))] == []


def test_a_chunk_of_numbers_decodes_typed_and_one_with_a_missing_spelling_as_text():
    plan = tf_parser.ChunkPlan(3, (("float32", (("a", 0, 0.5), ("b", 2, None))),), ("", "NA"), True)
    assert tf_parser.decodes_typed(plan, b"1,x,2\n,y,3")
    assert not tf_parser.decodes_typed(plan, b"1,x,2\nNA,y,3")
    for typed in (True, False):
        bad, arrays, _ = tf_parser.chunk_parser(plan, False, typed)(b"1,x,2\n,y,3")
        assert not bad
        np.testing.assert_array_equal(arrays[0], [[1, 2], [0.5, 3]])
    bad, arrays, _ = tf_parser.chunk_parser(plan, False, False)(b"1,x,2\nNA,y,3")
    assert not bad
    np.testing.assert_array_equal(arrays[0], [[1, 2], [0.5, 3]])

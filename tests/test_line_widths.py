import random

import pytest
import tensorflow as tf

from keras_growing_data.formats.csv.line_widths import fields_fit


@pytest.mark.parametrize(
    ("chunk", "num_fields", "fits"),
    [
        (b"1,2\n3,4", 2, True),
        (b"1,2\n3,4\n", 2, True),
        (b"1,2\n3", 2, False),
        (b"1,2,3\n4,5", 2, False),
        (b'"a,b",2\n"",4', 2, True),
        (b'"a""b",2', 2, True),
        (b'"a"b,2', 2, False),
        (b'a"b",2', 2, False),
        (b'"a\nb",2', 2, False),
        (b'"a,2', 2, False),
        (b' "a",2', 2, False),
    ],
)
def test_a_chunk_fits_when_every_line_has_the_width_with_quotes_in_their_place(chunk, num_fields, fits):
    assert fields_fit(chunk, num_fields) is fits


def random_chunk(rng: random.Random, num_fields: int) -> bytes:
    """Lines of quoted and bare fields, some then broken by a quote, a comma or a letter put anywhere."""

    def field():
        text = "".join(rng.choice('a ,"é') for _ in range(rng.randint(0, 4)))
        if rng.random() < 0.5:
            return '"' + text.replace('"', '""') + '"'
        return text.replace('"', "").replace(",", "")

    text = "\n".join(",".join(field() for _ in range(num_fields)) or '""' for _ in range(rng.randint(1, 4)))
    for _ in range(rng.choice([0, 0, 1, 2])):
        at = rng.randint(0, len(text))
        text = text[:at] + rng.choice(['"', ",", "a", ""]) + text[at + 1 :]
    return "\n".join(line for line in text.split("\n") if line).encode()


def test_a_chunk_fits_exactly_when_decode_csv_decodes_it():
    rng = random.Random(7)
    fitting = 0
    for _ in range(1500):
        num_fields = rng.randint(1, 4)
        chunk = random_chunk(rng, num_fields)
        if not chunk:
            continue
        try:
            tf.io.decode_csv(
                chunk.split(b"\n"), [tf.constant([""])] * num_fields, use_quote_delim=b'"' in chunk
            )
            decodes = True
        except tf.errors.InvalidArgumentError:
            decodes = False
        assert fields_fit(chunk, num_fields) is decodes, chunk
        fitting += decodes
    assert 500 < fitting < 1200  # Both kinds, many of each.

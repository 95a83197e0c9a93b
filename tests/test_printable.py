"""Quotes of file content and paths in messages are short, escaped and printable."""

from keras_growing_data.utils.printable import EXCERPT_CHARS, excerpt, patterns_text, printable, relative_to


def test_an_excerpt_is_escaped_and_cut_at_the_limit():
    assert excerpt("price") == "'price'"
    assert excerpt("x" * 41) == f"'{'x' * EXCERPT_CHARS}'…"
    # The limit counts the escaped characters: an escape is never cut in half.
    assert excerpt("tab\there", limit=6) == "'tab\\th'…"
    assert excerpt("tab\there", limit=4) == "'tab'…"
    assert excerpt("\x1b[2J" + "secret" * 10, limit=10) == "'\\x1b[2Jsec'…"
    assert len(excerpt("\x00" * 100)) <= EXCERPT_CHARS + 3


def test_a_path_that_is_not_utf8_is_printed_escaped():
    assert printable("/in/a.csv") == "/in/a.csv"
    name = b"/in/caf\xe9.csv".decode("utf-8", "surrogateescape")
    assert printable(name) == "/in/caf\\xe9.csv"
    assert printable(name).isprintable()


def test_a_path_below_the_folder_is_shown_from_it():
    assert relative_to("/in", "/in/dt=2026-12-01/part-0.csv") == "dt=2026-12-01/part-0.csv"
    assert relative_to("/in", "/inbox/a.csv") == "/inbox/a.csv"
    assert relative_to("gs://b/in", "gs://b/in/a.csv") == "a.csv"


def test_patterns_are_listed_with_their_compressed_variants_folded():
    every = [
        "*.csv",
        "*.csv.gz",
        "*.csv.bz2",
        "*.csv.xz",
        "*.jsonl",
        "*.jsonl.gz",
        "*.jsonl.bz2",
        "*.jsonl.xz",
    ]
    assert patterns_text(every) == "'*.csv' or '*.jsonl' (each plain or .gz, .bz2, .xz)"
    assert patterns_text([*every[:4], "*.parquet"]) == "'*.csv' (plain or .gz, .bz2, .xz) or '*.parquet'"
    assert patterns_text([*every[:4], "a", "b"]) == "'*.csv' (plain or .gz, .bz2, .xz), or 'a' or 'b'"
    assert (
        patterns_text("*.csv") == "'*.csv'"
        and patterns_text(["*.csv", "*.csv.gz"]) == "'*.csv' or '*.csv.gz'"
    )

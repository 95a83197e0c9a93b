"""How messages show what comes from files: short escaped excerpts of content, printable paths.

Every piece of a file a message shows (a name, a value, a parser's message)
goes through `excerpt`, and every path through `printable`, so that a file
that is not CSV, or a name that is not UTF-8, never puts more than a short,
escaped excerpt into a reason or a log line.
"""

from collections.abc import Sequence

# The most characters of a file's content a reason shows in one quote.
EXCERPT_CHARS = 40
# The name endings of compressed files that `patterns_text` folds into their plain pattern.
COMPRESSION_ENDINGS = (".gz", ".bz2", ".xz")


def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    """`text` as a reason quotes it: escaped as `repr` escapes, at most `limit` characters, then `…`.

    Every piece of a file a reason shows (a name, a value, a parser's
    message) goes through here, so a file that is not CSV (a link to
    `/etc/passwd`, a binary) never has more than a short excerpt echoed.
    """
    cut = min(len(text), limit)
    while len(repr(text[:cut])) > limit + 2:  # Escapes lengthen it; the quotes do not count.
        cut -= 1
    return repr(text[:cut]) + ("…" if cut < len(text) else "")


def printable(path: str) -> str:
    """A path as it can be printed: bytes that are not UTF-8 (kept by `os` as surrogates) escaped."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def relative_to(folder: str, path: str) -> str:
    """A path below `folder` as seen from it (`dt=2026-12-01/part-0.csv`); any other path as it is."""
    return path[len(folder) + 1 :] if path.startswith(folder + "/") else path


def patterns_text(pattern: str | Sequence[str]) -> str:
    """File name patterns as a message lists them; a pattern's compressed variants folded into it.

    Example:

    >>> patterns_text(["*.csv", "*.csv.gz", "*.csv.bz2", "*.csv.xz", "*.jsonl", "*.jsonl.gz", "*.jsonl.bz2",
    ...                "*.jsonl.xz"])
    "'*.csv' or '*.jsonl' (each plain or .gz, .bz2, .xz)"
    >>> patterns_text(["a.csv", "b.csv"])
    "'a.csv' or 'b.csv'"
    """
    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    folded, shown = set(), []
    for name in patterns:
        variants = [name + ending for ending in COMPRESSION_ENDINGS]
        if name in folded:
            continue
        if all(variant in patterns for variant in variants):
            folded.update(variants)
            shown.append((name, True))
        else:
            shown.append((name, False))
    every = all(compressed for _, compressed in shown)
    each = " (plain or .gz, .bz2, .xz)"
    quoted = [repr(name) + (each if compressed and not every else "") for name, compressed in shown]
    text = quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"
    if every:
        text += " (each plain or .gz, .bz2, .xz)" if len(shown) > 1 else each
    return text

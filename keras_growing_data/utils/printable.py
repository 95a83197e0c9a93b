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
    """File name patterns as a message lists them: the compressed variants of a pattern folded into it.

    Example:

    >>> patterns_text(["*.csv", "*.csv.gz", "*.csv.bz2", "*.csv.xz", "*.parquet"])
    "'*.csv' (plain or .gz, .bz2, .xz) or '*.parquet'"
    >>> patterns_text(["a.csv", "b.csv"])
    "'a.csv' or 'b.csv'"
    """
    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    variants = {name: [name + ending for ending in COMPRESSION_ENDINGS] for name in patterns}
    folded = [name for name in patterns if all(v in patterns for v in variants[name])]
    hidden = {v for name in folded for v in variants[name]}
    others = [name for name in patterns if name not in folded and name not in hidden]
    parts = []
    if folded:
        each = "each plain" if len(folded) > 1 else "plain"
        parts.append(f"{_listed(folded)} ({each} or {', '.join(COMPRESSION_ENDINGS)})")
    if others:
        parts.append(_listed(others))
    return " or ".join(parts) if len(parts) < 2 or len(others) == 1 else ", or ".join(parts)


def _listed(names: Sequence[str]) -> str:
    """Names quoted, the last after "or": `'a', 'b' or 'c'`."""
    quoted = [repr(name) for name in names]
    return quoted[0] if len(quoted) == 1 else f"{', '.join(quoted[:-1])} or {quoted[-1]}"

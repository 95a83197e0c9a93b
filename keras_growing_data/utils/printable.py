"""How messages show what comes from files: short escaped excerpts of content, printable paths.

Every piece of a file a message shows (a name, a value, a parser's message)
goes through `excerpt`, and every path through `printable`, so that a file
that is not CSV, or a name that is not UTF-8, never puts more than a short,
escaped excerpt into a reason or a log line.
"""

# The most characters of a file's content a reason shows in one quote.
EXCERPT_CHARS = 40


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

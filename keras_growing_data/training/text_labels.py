"""Whether a label was inferred as text that a loss cannot take, and what to do about it."""

from keras_growing_data.formats.number_syntax import parses_as_number
from keras_growing_data.sources.ingest import FolderIngest
from keras_growing_data.utils.printable import excerpt, printable


def text_label_problem(ingest: FolderIngest, strings_as: str) -> str | None:
    """Why the labels cannot train, if a label's type was inferred as `"string"`; else `None`.

    A label column inferred as text (one stray value such as `x` among
    numbers makes it so) would be served as `tf.string`, and training would
    fail deep in the loss ("Cast string to float is not supported"). With
    `strings_as="index"` text labels are class ids, and a declared schema
    says what is meant: neither is a problem.

    Example:

    >>> text_label_problem(data.ingest, "string")
    "label 'b' is a string column: its type was inferred from /data/a.csv, where it holds 'x', ..."
    """
    schema = ingest.schema
    if strings_as == "index" or ingest.format.declared is not None or schema is None:
        return None
    texts = [name for name in ingest.labels if schema.dtypes[name] == "string"]
    if not texts:
        return None
    name = texts[0]
    default = ingest.format.defaults.get(name)
    # The label's strings in the order first accepted: those of the file that set the schema first.
    value = next(s for s in ingest.vocabulary(name)[1:] if not parses_as_number(s) and s not in (default, ""))
    return (
        f"label {name!r} is a string column: its type was inferred from {printable(ingest.files.paths[0])}, "
        f"where it holds {excerpt(value)}, which is not a number, and a loss cannot take text. Declare the "
        f"columns (columns={{..., {name!r}: 'float32'}}) to reject the files that hold text there, each "
        "with the line named; or pass strings_as='index' to train on class ids."
    )

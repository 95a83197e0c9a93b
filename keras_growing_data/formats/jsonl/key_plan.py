"""How the keys of a JSON Lines file's objects fill the schema's columns (`KeyPlan`); what a chunk gives."""

import dataclasses
from collections.abc import Mapping

from keras_growing_data.errors import BadFileError
from keras_growing_data.formats.bad_row import BadRow
from keras_growing_data.formats.column_names import header_names
from keras_growing_data.formats.partitions import placeholders
from keras_growing_data.formats.schema import Schema, default_problem
from keras_growing_data.utils.printable import excerpt

# No default: a missing value in that column makes the line bad.
NO_DEFAULT = None


@dataclasses.dataclass(frozen=True)
class KeyColumn:
    """One column of the schema as the lines fill it: by `name`, else by `default` (or `NO_DEFAULT`).

    A column that `given` is not read from the lines: the file's folders
    give it (a partition column), and its place holds `default` until the
    file's rows are stacked.
    """

    name: str
    default: object = NO_DEFAULT
    given: bool = False


@dataclasses.dataclass(frozen=True)
class KeyPlan:
    """Per stored dtype of the schema (`Schema.groups`), its columns in stored order, as `KeyColumn`s."""

    groups: tuple[tuple[str, tuple[KeyColumn, ...]], ...]

    @property
    def read_names(self) -> frozenset[str]:
        """The columns read from the lines' keys."""
        return frozenset(c.name for _, columns in self.groups for c in columns if not c.given)

    def columns_of(self, dtype: str) -> tuple[KeyColumn, ...]:
        return dict(self.groups).get(dtype, ())


def key_plan(schema: Schema, defaults: Mapping[str, object], given: Mapping[str, object]) -> KeyPlan:
    """The plan of a file read with `schema`, whose folders give the columns `given` (`typed_partition`).

    Raises:
        BadFileError: a default names no column of the schema, or does not fit its column's type.
    """
    dtypes = schema.dtypes
    for name, value in defaults.items():
        if name not in dtypes:
            raise BadFileError(
                f"defaults names {excerpt(name)}, which is not a column of the schema "
                f"{header_names(list(dtypes))}"
            )
        problem = default_problem(name, value, dtypes[name])
        if problem:
            raise BadFileError(problem)
    filling = {**defaults, **placeholders(given, schema)}
    return KeyPlan(
        tuple(
            (
                dtype,
                tuple(
                    KeyColumn(name, filling.get(name, NO_DEFAULT), name in given)
                    for name in schema.stored_order(dtype)
                ),
            )
            for dtype in schema.groups
        )
    )


@dataclasses.dataclass(frozen=True)
class LinesParsed:
    """What a chunk of lines gave: its rows as `FileRows.keep` takes them, its keys, its bad lines.

    `part` is `(arrays, strings, losses)`, or `None` if the chunk has no
    row; `keys` the keys of its objects, in the order first seen; `skipped`
    the lines left out (`skip_bad_rows`).
    """

    part: tuple | None
    keys: tuple[str, ...]
    skipped: tuple[BadRow, ...] = ()

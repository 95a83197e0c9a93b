import os

import numpy as np
import pytest

from keras_growing_data.errors import BadFileError, NoDataRowsError
from keras_growing_data.formats.file_rows import FileRows
from keras_growing_data.formats.schema import Schema
from keras_growing_data.sources.records import BadRow
from keras_growing_data.utils.aligned_arrays import ALIGNMENT, aligned_empty
from keras_growing_data.utils.scratch_arrays import ScratchArrays

SCHEMA = Schema((("x", "float32"), ("city", "string"), ("y", "float32")), ("y",))
NO_LOSS = ((0, 0.0, 0, 0.0),) * 2


def part(floats, codes):
    return (np.array(floats, np.float32), np.array(codes, np.int32)[:, None])


def test_parts_are_stacked_in_order_their_strings_renumbered_into_the_files():
    rows = FileRows(SCHEMA, {})
    rows.keep(part([[1, 10], [2, 20]], [0, 1]), (("a", "b"),), NO_LOSS)
    rows.keep(part([[3, 30], [4, 40]], [0, 1]), (("c", "a"),), NO_LOSS)
    arrays, strings = rows.stacked()
    np.testing.assert_array_equal(arrays["float32"], [[1, 10], [2, 20], [3, 30], [4, 40]])
    np.testing.assert_array_equal(arrays["string"][:, 0], [0, 1, 2, 0])
    assert strings == {"city": ("a", "b", "c")}
    assert all(array.ctypes.data % ALIGNMENT == 0 for array in arrays.values())


def owned_part(floats, codes):
    """`part`, in arrays made by `aligned_empty`, as a format hands them over."""
    arrays = tuple(aligned_empty(array.shape, array.dtype) for array in part(floats, codes))
    for array, values in zip(arrays, part(floats, codes), strict=True):
        array[...] = values
    return arrays


def test_a_file_of_one_owned_part_is_its_arrays_and_any_other_is_a_copy():
    one = owned_part([[1, 10], [2, 20]], [0, 1])
    rows = FileRows(SCHEMA, {})
    rows.keep(one, (("a", "b"),), NO_LOSS, owned=True)
    arrays, strings = rows.stacked()
    assert arrays["float32"] is one[0] and arrays["string"] is one[1] and strings == {"city": ("a", "b")}
    first, second = owned_part([[1, 10]], [0]), owned_part([[2, 20], [3, 30]], [0, 1])
    rows = FileRows(SCHEMA, {})
    rows.keep(first, (("a",),), NO_LOSS, owned=True)
    rows.keep(second, (("c", "a"),), NO_LOSS, owned=True)
    np.testing.assert_array_equal(second[1][:, 0], [1, 0])  # Renumbered in place into the file's strings.
    arrays, strings = rows.stacked()
    assert arrays["float32"] is not first[0] and strings == {"city": ("a", "c")}
    np.testing.assert_array_equal(arrays["string"][:, 0], [0, 1, 0])
    rows = FileRows(SCHEMA, {})
    rows.keep(part([[1, 10]], [0]), (("a",),), NO_LOSS)
    arrays, _ = rows.stacked()
    assert arrays["float32"].ctypes.data % ALIGNMENT == 0  # A copy: the part's array may not be aligned.


def test_float32_losses_are_summed_over_parts_the_first_example_kept():
    rows = FileRows(SCHEMA, {})
    rows.keep(part([[1, 10]], [0]), (("a",),), ((0, 0.0, 0, 0.0), (1, 16777217.0, 0, 0.0)))
    rows.keep(part([[1, 10]], [0]), (("a",),), ((0, 0.0, 1, 1e-50), (2, 33554433.0, 0, 0.0)))
    assert rows.notes() == (
        "column 'x': 1 non-zero value(s) are below float32's range and became 0 (the first: 1e-50)",
        "column 'y': 3 integer value(s) beyond 2^24 are not exact in float32 (16777217 became 16777216); "
        "declare the column int64 to keep them",
    )


def test_partition_columns_get_their_values_when_stacked():
    schema = Schema((("x", "float32"), ("dt", "string"), ("hour", "float32"), ("y", "float32")), ("y",))
    rows = FileRows(schema, {"dt": "2026-12-01", "hour": 3.0})
    rows.keep((np.zeros((2, 3), np.float32), np.zeros((2, 1), np.int32)), (("",),), ((0, 0.0, 0, 0.0),) * 3)
    arrays, strings = rows.stacked()
    np.testing.assert_array_equal(arrays["float32"][:, schema.slot("hour")[1]], [3, 3])
    assert strings == {"dt": ("2026-12-01",)}


def test_a_file_without_rows_is_rejected_naming_its_first_bad_row_if_any():
    with pytest.raises(NoDataRowsError, match="^the file has a header but no data rows$"):
        FileRows(SCHEMA, {}).stacked()
    rows = FileRows(SCHEMA, {})
    rows.skipped.append(BadRow(3, "column 'x': expected a number, found 'a'"))
    with pytest.raises(BadFileError, match="^every data row is bad; the first: line 3: column 'x'"):
        rows.stacked()


def two_strings(floats, cities):
    """A part of the schema with a partition column `dt` after `city`: its placeholder is 0."""
    return (np.array(floats, np.float32), np.column_stack([cities, np.zeros(len(cities))]).astype(np.int32))


def test_parts_kept_with_scratch_go_to_its_files_at_once_and_stack_as_writable_maps_of_them(tmp_path):
    schema = Schema((("x", "float32"), ("city", "string"), ("dt", "string"), ("y", "float32")), ("y",))
    rows = FileRows(schema, {"dt": "2026-12-01"}, scratch=ScratchArrays(str(tmp_path)))
    rows.keep(two_strings([[1, 10], [2, 20]], [0, 1]), (("a", "b"), ("",)), NO_LOSS)
    on_disk = {path.name.split("-")[1]: path.stat().st_size for path in tmp_path.iterdir()}
    assert on_disk == {"float32": 2 * 2 * 4, "string": 2 * 2 * 4}  # Written as kept, not at the end.
    rows.keep(two_strings([[3, 30]], [0]), (("c",), ("",)), NO_LOSS)
    arrays, strings = rows.stacked()
    assert all(isinstance(array, np.memmap) and array.mode == "r+" for array in arrays.values())
    assert {os.path.dirname(array.filename) for array in arrays.values()} == {str(tmp_path)}
    np.testing.assert_array_equal(arrays["float32"], [[1, 10], [2, 20], [3, 30]])
    np.testing.assert_array_equal(arrays["string"], [[0, 0], [1, 0], [2, 0]])
    assert strings == {"city": ("a", "b", "c"), "dt": ("2026-12-01",)}
    rows.scratch.remove()
    assert list(tmp_path.iterdir()) == []

"""The demo's rows: scikit-learn's bundled digits, or a documented synthetic regression."""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class DemoData:
    """Rows for the demo: training rows dropped in parts, and validation rows.

    `train` and `validation` are float arrays whose columns follow
    `columns`, the label last.
    """

    name: str
    columns: tuple[str, ...]
    label: str
    train: np.ndarray
    validation: np.ndarray


def synthetic_data(rows: int = 1800, validation_rows: int = 300, seed: int = 0) -> DemoData:
    """Rows of the documented synthetic regression, for when scikit-learn is absent.

    Eight features `x0 ... x7` are drawn from a standard normal, and the
    label is `price = x . w + 0.1 * noise`, with `w = linspace(-1, 1, 8)`
    the same for every row and standard normal noise, so every part samples
    one relation and the best mean squared error is 0.01.

    Example:

    >>> data = synthetic_data(rows=100, validation_rows=20)
    >>> data.train.shape, data.columns[-1]
    ((100, 9), 'price')

    Args:
        rows: training rows.
        validation_rows: validation rows.
        seed: seed of the draws.
    """
    features = 8
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows + validation_rows, features))
    w = np.linspace(-1.0, 1.0, features)
    y = x @ w + 0.1 * rng.normal(size=rows + validation_rows)
    table = np.column_stack([x, y])
    columns = tuple(f"x{i}" for i in range(features)) + ("price",)
    return DemoData("synthetic price = x . w + noise", columns, "price", table[:rows], table[rows:])


def digits_data(validation_rows: int = 297, seed: int = 0) -> DemoData:
    """scikit-learn's bundled handwritten digits, shuffled, as training and validation rows.

    1,797 images of 8x8 pixels with values 0 to 16 (columns `pixel_0_0` to
    `pixel_7_7`), label `digit` (0 to 9). `sklearn.datasets.load_digits`
    reads them from a file inside the package: no network.

    Example:

    >>> data = digits_data()
    >>> data.train.shape, data.validation.shape
    ((1500, 65), (297, 65))

    Args:
        validation_rows: rows held out for validation.
        seed: seed of the shuffle.

    Raises:
        ImportError: scikit-learn is not installed.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise ImportError(
            'The digits demo data needs scikit-learn: pip install "keras-growing-data[demo]"'
        ) from e
    digits = load_digits()
    table = np.column_stack([digits.data, digits.target])
    table = table[np.random.default_rng(seed).permutation(len(table))]
    columns = tuple(digits.feature_names) + ("digit",)
    split = len(table) - validation_rows
    return DemoData("scikit-learn digits", columns, "digit", table[:split], table[split:])


def load_demo_data(source: str = "auto") -> DemoData:
    """The demo's rows: `"digits"`, `"synthetic"`, or `"auto"` (digits if scikit-learn is installed)."""
    if source == "digits":
        return digits_data()
    if source == "synthetic":
        return synthetic_data()
    if source != "auto":
        raise ValueError(f"source must be 'auto', 'digits' or 'synthetic', got {source!r}.")
    try:
        return digits_data()
    except ImportError:
        return synthetic_data()

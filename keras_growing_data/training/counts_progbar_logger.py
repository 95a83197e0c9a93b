"""The progress bar of a growing run: Keras's, with the epoch's counts shown as integers."""

import keras


class CountsProgbarLogger(keras.callbacks.ProgbarLogger):
    """A `ProgbarLogger` that shows the epoch's counts (`rows`, `files`) as integers.

    Keras 3.15's `Progbar.update` formats every value with `.4f` unless it is
    a `float` already, so `rows: 250` would show as `rows: 250.0000`. The
    counts reach the bar (only the bar; History keeps the ints) as floats
    that format as integers.
    """

    def _finalize_progbar(self, logs):
        counts = {name: _Count(value) for name, value in (logs or {}).items() if name in COUNT_LOGS}
        super()._finalize_progbar({**(logs or {}), **counts})


COUNT_LOGS = ("rows", "files", "files_left", "rows_skipped")


class _Count(float):
    """A float that prints as an integer, whatever format it is given."""

    def __format__(self, spec: str) -> str:
        return str(int(self))

    def __truediv__(self, other) -> "_Count":
        return _Count(float(self) / other)

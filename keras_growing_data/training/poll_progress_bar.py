"""Shows the progress of a long poll (a backlog of files) as a Keras progress bar."""

import keras

from keras_growing_data.sources.ingest_progress import IngestProgress


class PollProgressBar:
    """Called with each `IngestProgress` of a poll: prints a title once per report, then a bar.

    Example:

    >>> show = PollProgressBar("incoming/")
    >>> data.ingest.poll(progress=show)
    Reading 1200 files (35.2 MB) of incoming/
    1200/1200 [==============================] - rows: 96000 - MB/s: 41.0

    Args:
        directory: the folder read, named in the title.
    """

    def __init__(self, directory: str):
        self.directory = directory
        self._shown = None
        self._bar = None

    def __call__(self, progress: IngestProgress) -> None:
        if self._shown is not progress:
            print(f"Reading {progress.files} files ({progress.nbytes / 1e6:.1f} MB) of {self.directory}")
            self._bar = keras.utils.Progbar(
                progress.files, unit_name="file", stateful_metrics=["rows", "MB/s"]
            )
            self._shown = progress
        self._bar.update(
            progress.files_done, [("rows", progress.rows), ("MB/s", progress.bytes_per_second / 1e6)]
        )

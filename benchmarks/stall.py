"""Section 3: the pause between two epochs when a large file landed during the first one.

That pause is how long training waits for ingest: with `poll_interval=None` the boundary poll reads
the file; with a background poll it is read during the epoch.
"""

import dataclasses
from collections.abc import Callable
from pathlib import Path

import keras_growing_data as kgd
from benchmarks.fixtures import BATCH_SIZE, LABEL, CsvSource, EpochClock, new_model
from benchmarks.harness import Alternative, Row, Sizes, baseline, interleave, median, number, ratio

TITLE = "3 boundary stall"


class ArrivalClock(EpochClock):
    """An `EpochClock` that runs `land()` at the first batch of epoch `land_epoch`.

    The epoch after it stops after one batch: only its beginning is of interest.
    """

    def __init__(self, land: Callable[[], object], land_epoch: int):
        super().__init__()
        self.land = land
        self.land_epoch = land_epoch
        self.epoch = -1

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        super().on_epoch_begin(epoch, logs)
        self.epoch = epoch
        self.model.stop_training = epoch > self.land_epoch

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        if batch == 0 and self.epoch == self.land_epoch:
            self.land()


@dataclasses.dataclass
class StallSample:
    quiet: float  # Gap after an epoch in which nothing arrived.
    stall: float  # Gap after the epoch in which the file landed.
    landing_epoch: float  # Training time of that epoch: background polls have this long to ingest.
    joined: bool  # Whether the next epoch trained on the new rows.


def stall_measure(
    source: CsvSource, sizes: Sizes, folder: Path, poll_interval: float | None
) -> Callable[[], StallSample]:
    """A measure: a `fit` of ours for 3 epochs (the last cut short), a file landing early in epoch 1."""
    base = sizes.stall_base_files * sizes.train_rows_per_file
    source.write_files(folder, sizes.stall_base_files, sizes.train_rows_per_file)
    data = kgd.GrowingDataCallback(
        str(folder), label=LABEL, batch_size=BATCH_SIZE, settle_seconds=0, poll_interval=poll_interval
    )
    trainer = kgd.GrowingDatasetTrainer(new_model(), data)
    landed = []

    def land() -> None:
        start = base + len(landed) * sizes.stall_landing_rows
        path = folder / f"landed-{len(landed):03d}.csv"
        landed.append(source.write(path, start, start + sizes.stall_landing_rows))

    def measure() -> StallSample:
        clock = ArrivalClock(land, land_epoch=1)
        rows = trainer.fit(epochs=3, callbacks=[clock], verbose=0).history["rows"]
        gaps = [b - e for e, b in zip(clock.ends, clock.begins[1:], strict=False)]
        landing_epoch = clock.ends[1] - clock.begins[1]
        return StallSample(gaps[0], gaps[1], landing_epoch, rows[2] - rows[1] == sizes.stall_landing_rows)

    return measure


def section(source: CsvSource, sizes: Sizes, root: Path) -> list[Row]:
    """Two rows per variant, quiet and landed, against the quiet gap of the baseline."""
    variants = [
        Alternative(
            "ours, poll_interval=None", stall_measure(source, sizes, root / "stall-0", None), baseline=True
        ),
        Alternative("ours, poll_interval=0.05", stall_measure(source, sizes, root / "stall-1", 0.05)),
    ]
    samples = interleave(variants, sizes.stall_reps)
    reference = median([s.quiet for s in samples[baseline(variants)]])
    rows = []
    for variant, runs in samples.items():
        quiet, stall = median([s.quiet for s in runs]), median([s.stall for s in runs])
        joined = f"it joined the next epoch {sum(s.joined for s in runs)}/{len(runs)} times"
        stalls = [s.stall for s in runs]
        spread = f"; {len(runs)} runs, {number(min(stalls))}-{number(max(stalls))} s"
        epoch = median([s.landing_epoch for s in runs])
        landed = (
            f"a {sizes.stall_landing_rows:,}-row file landed at batch 0 of a {epoch:.2g} s epoch; {joined}"
            + spread
        )
        rows += [
            Row(
                TITLE,
                f"{variant.name}: nothing landed",
                quiet,
                "s",
                ratio(quiet, reference),
                "on_epoch_end to on_epoch_begin",
            ),
            Row(TITLE, f"{variant.name}: a file landed", stall, "s", ratio(stall, reference), landed),
        ]
    return rows

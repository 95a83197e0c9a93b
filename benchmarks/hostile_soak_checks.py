"""The hostile soak's invariants, judged from the trainer's epoch records and the producer's ledger.

Each epoch's record names the files its lineage says trained (path and inode) and the ids of the
rows it trained; the ledger says which ids every file held at the producer's step that the epoch's
boundary poll saw. A file in training must bring every line it holds then (`required`); a line of
a file that once held it (before a copytruncate, say) may train too (`allowed`), and nothing else.
"""

import dataclasses
import os
import statistics
from collections.abc import Callable

from benchmarks.hostile_soak_producer import FileHistory, Ledger

FLAT_RATIO = 1.2  # Last tenth of the epochs against the first tenth, after the warm-up.
FLAT_RSS_BYTES = 50 << 20
# The rows on disk per row in training swing by design: a store compacts once half its rows are
# dead (`RowStore.drop`), and a rows-log segment is deleted once all its rows left, so each holds
# up to about twice what trains. Flat for them is bounded by that, not constant.
FLAT_DISK_RATIO = 2.5
BYTES_PER_FILE = 300  # What docs/state_and_restarts.md says a file ever accepted costs ...
BYTES_PER_EPOCH = 60  # ... and an epoch boundary.
JOURNAL_RECORDS = 4096  # `MIN_RECORDS_BEFORE_COMPACTION` of `keras_growing_data.sources.manifest`.


@dataclasses.dataclass(frozen=True)
class Check:
    """One invariant's verdict and the figures behind it."""

    invariant: str
    passed: bool
    figures: str


def expand(runs: list[list[int]]) -> set[int]:
    return {number for first, last in runs for number in range(first, last + 1)}


class Tally:
    """Counts an invariant's breaches over the epochs: how many, in how many epochs, the first one."""

    def __init__(self):
        self.breaches = 0
        self.epochs = 0
        self.first = None

    def add(self, epoch: int, found: set | list, what: str) -> None:
        if found:
            self.breaches += len(found)
            self.epochs += 1
            self.first = self.first or f"first: epoch {epoch}, {what} {sorted(found)[:5]}"

    def check(self, invariant: str, of: str, epochs: int) -> Check:
        if not self.breaches:
            return Check(invariant, True, f"none in {epochs:,} epochs")
        return Check(
            invariant, False, f"{self.breaches:,} {of} in {self.epochs:,} of {epochs:,} epochs; {self.first}"
        )


def training_set(record: dict, ledger: Ledger, folder: str) -> tuple[list[FileHistory], int]:
    """The producer's files behind a record's lineage (by inode, else by path); how many matched none."""
    files, unmatched = [], 0
    for path, inode in record["files"]:
        history = ledger.files.get(inode) or ledger.by_path(os.path.relpath(path, folder), record["step"])
        if history is None:
            unmatched += 1
        else:
            files.append(history)
    return files, unmatched


def exactness_checks(records: dict[int, dict], ledger: Ledger, folder: str, window: int) -> list[Check]:
    """Per epoch: no id twice, every line of the files in training, nothing else, the live log in."""
    twice, missing, extra, phantom, live, logs = Tally(), Tally(), Tally(), Tally(), Tally(), Tally()
    unmatched = 0
    for epoch, record in sorted(records.items()):
        step = record["step"]
        trained = expand(record["ids"])
        twice.add(epoch, [number for number, _ in record["twice"]], "ids")
        files, lost = training_set(record, ledger, folder)
        unmatched += lost
        required = {number for f in files for number in f.current_ids(step)}
        allowed = required | {number for f in files for number in f.all_ids(step)}
        written = {number for number in trained if ledger.written.get(number, step + 1) <= step}
        missing.add(epoch, required - trained, "ids")
        extra.add(epoch, written - allowed, "ids")
        phantom.add(epoch, trained - written, "ids")
        live.add(epoch, set(ledger.live_log(step).current_ids(step)) - trained, "ids of app.csv")
        counted = {record["rows"], record["lineage_rows"], int(record["logs"].get("rows", record["rows"]))}
        logs.add(
            epoch, [] if len(counted) == 1 else [record["rows"]], f"rows served vs lineage, logs: {counted}"
        )
    largest = max(len(record["files"]) for record in records.values()) if records else 0
    n = len(records)
    window_check = Check(
        f"the window holds at most {window} files", largest <= window, f"largest lineage: {largest} files"
    )
    lineage_check = Check(
        "every lineage file is one the producer wrote (by inode, else by path)",
        unmatched == 0,
        f"{unmatched:,} lineage entries matched none",
    )
    return [
        twice.check("within every epoch, no id twice", "repeated ids", n),
        lineage_check,
        missing.check("every complete line of a file in the epoch's lineage is trained", "missing ids", n),
        extra.check(
            "no line of a file outside the lineage is trained", "ids trained from files out of it", n
        ),
        phantom.check("no id that was not written (complete) before the boundary", "such ids", n),
        live.check("the live log app.csv trains at every epoch", "of its lines missing", n),
        window_check,
        logs.check("rows served = lineage rows = the epoch logs' rows", "epochs disagreeing", n),
    ]


def median_of(records: list[dict], key: Callable[[dict], float]) -> float:
    return statistics.median(key(record) for record in records)


def tenths(records: dict[int, dict], window: int) -> tuple[list[dict], list[dict]]:
    """The first tenth of the epochs after the warm-up (the window first full), and the last tenth."""
    ordered = [records[epoch] for epoch in sorted(records)]
    full = [i for i, record in enumerate(ordered) if len(record["files"]) >= window]
    warm = full[0] if full else len(ordered) // 10
    tenth = max(3, len(ordered) // 10)
    return ordered[warm : warm + tenth], ordered[-tenth:]


def last_process_tenths(records: dict[int, dict]) -> tuple[list[dict], list[dict]]:
    """The first and last tenth of the epochs the last trainer process ran, but its first 3.

    A restart frees what a process leaked, so a leak shows within one process: the last one runs
    the most epochs (no kill comes in the last 30% of the run).
    """
    ordered = [records[epoch] for epoch in sorted(records)]
    own = [record for record in ordered if record["pid"] == ordered[-1]["pid"]][3:] or ordered[-1:]
    tenth = max(1, len(own) // 10)
    return own[:tenth], own[-tenth:]


def growth(
    first: list[dict], last: list[dict], key: Callable[[dict], float], limit: float | None, allowed: float = 0
) -> tuple:
    """`(before, after, ratio, flat)`: the medians of `key` over `first` and `last`, and the verdict:
    a ratio within `limit`, or with `limit=None`, a growth within `FLAT_RSS_BYTES + allowed`."""
    before, after = median_of(first, key), median_of(last, key)
    ratio = after / before if before else (1.0 if after == before else float("inf"))
    return (
        before,
        after,
        ratio,
        (after - before <= FLAT_RSS_BYTES + allowed if limit is None else ratio <= limit),
    )


def keras_growth(control: dict[int, dict]) -> float:
    """What the Keras control's memory grew by between the same tenths of its run as the last process's."""
    first, last = last_process_tenths(control)
    return max(0.0, median_of(last, lambda r: r["rss"]) - median_of(first, lambda r: r["rss"]))


def flat_checks(
    records: dict[int, dict], ledger: Ledger, window: int, control: dict[int, dict]
) -> list[Check]:
    """Open files, memory maps, memory and the rows on disk: the last tenth of the epochs against the
    first, and within the last process; the state's records against what they hold by design.

    Memory may grow by what the Keras control's grew in as many epochs (`hostile_soak_probe
    control`: Keras and TensorFlow keep about 18 KiB a `fit` call), plus `FLAT_RSS_BYTES`."""
    if len(records) < 8:
        return [Check("flat resources", False, f"only {len(records)} epochs recorded")]
    first, last = tenths(records, window)
    own_first, own_last = last_process_tenths(records)
    span = f"epochs {first[0]['epoch']}-{first[-1]['epoch']} vs {last[0]['epoch']}-{last[-1]['epoch']}"
    own_span = f"last process: {own_first[0]['epoch']}-{own_first[-1]['epoch']} vs {own_last[0]['epoch']}-"
    measures = [
        ("open files", lambda r: r["fds"], 1, ""),
        ("open files under the soak's folders", lambda r: r["data_fds"], 1, ""),
        ("memory maps", lambda r: r["maps"], 1, ""),
        ("memory maps of files under the soak's folders", lambda r: r["data_maps"], 1, ""),
        ("resident memory (VmRSS)", lambda r: r["rss"], 2**20, " MiB"),
        (
            # Per row in training: the window's rows vary as the live log grows and rotates.
            "disk: rows (storage_dir + state_dir/rows) per row in training",
            lambda r: (r["storage_bytes"] + r["state_rows_bytes"]) / max(1, r["rows"]),
            1,
            " B",
        ),
    ]
    allowed = keras_growth(control) if control else float("nan")
    checks = []
    for name, key, scale, unit in measures:
        rss = name.startswith("resident")
        limit = None if rss else FLAT_DISK_RATIO if name.startswith("disk") else FLAT_RATIO
        before, after, ratio, flat = growth(first, last, key, limit, allowed)
        own_before, own_after, own_ratio, own_flat = growth(own_first, own_last, key, limit, allowed)
        bound = (
            f"+{FLAT_RSS_BYTES / 2**20:.0f} MiB beyond the Keras control's +{allowed / 2**20:,.1f} MiB in "
            f"{len(control):,} epochs"
            if rss
            else f"{limit}x"
        )
        figures = (
            f"{before / scale:,.1f}{unit} -> {after / scale:,.1f}{unit} ({ratio:.2f}x), {span}; "
            f"{own_before / scale:,.1f} -> {own_after / scale:,.1f} ({own_ratio:.2f}x), "
            f"{own_span}{own_last[-1]['epoch']}; limit {bound}"
        )
        checks.append(Check(f"flat: {name}", flat and own_flat, figures))
    return checks + [state_records_check(records, ledger, first, last)]


def state_records_check(
    records: dict[int, dict], ledger: Ledger, first: list[dict], last: list[dict]
) -> Check:
    """The state's snapshot and journal grow with the files and epochs by design
    (docs/state_and_restarts.md: about 300 bytes a file, 60 a boundary); the journal is folded
    into the snapshot once it holds `max(4096, the snapshot's items)` records (`manifest.py`).
    Both bounds are checked."""
    over = []
    for record in records.values():
        paths = ledger.paths_by(record["step"])
        if record["journal_records"] > max(JOURNAL_RECORDS, 2 * paths + record["epoch"] + 1):
            over.append(record["epoch"])
    before, after = (
        median_of(first, lambda r: r["snapshot_bytes"]),
        median_of(last, lambda r: r["snapshot_bytes"]),
    )
    epochs = last[len(last) // 2]["epoch"] - first[len(first) // 2]["epoch"]
    files = ledger.paths_by(last[len(last) // 2]["step"]) - ledger.paths_by(first[len(first) // 2]["step"])
    per_epoch = (after - before - BYTES_PER_FILE * files) / max(1, epochs)
    journal = max(record["journal_records"] for record in records.values())
    figures = (
        f"snapshot {before / 1e3:,.1f} KB -> {after / 1e3:,.1f} KB: {per_epoch:,.0f} B an epoch beyond "
        f"{BYTES_PER_FILE} B for each of {files:,} new paths (limit {BYTES_PER_EPOCH}); journal at most "
        f"{journal:,} records, over its folding bound in {len(over):,} epochs"
    )
    return Check("disk: state_dir records bounded", per_epoch <= BYTES_PER_EPOCH and not over, figures)

"""A hostile soak: a rotating tailed log, date folders, a window, a disk store and hard kills.

`python -m benchmarks.hostile_soak [--epochs N] [--smoke] [--out FILE]` runs a trainer
(`hostile_soak_probe`) for N epochs (default 10,000) on a folder that a producer
(`hostile_soak_producer`) writes between its epochs: a tailed log `app.csv`, sometimes ending in
a partial line, rotated every few epochs by logrotate's `create` and `copytruncate` in turn, the
rotated files moved into `dt=YYYY-MM-DD/` folders, finished files dropped beside them. The trainer
tails the folder recursively with `Window(files=...)`, `storage="disk"` and `state_dir`, and
resumes with `BackupAndRestore` after the SIGKILLs this supervisor sends it at seeded random
moments. Then it checks (`hostile_soak_checks`) that every epoch trained each line it should
exactly once and nothing else, and that open files, memory maps, memory and disk stayed flat;
it prints one table of PASS/FAIL with the figures, and exits 1 if any check failed.

It is not a section of `python -m benchmarks`: at full size it runs for hours. `--smoke` (50
epochs, 3 kills) takes a couple of minutes, for CI.
"""

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.hostile_soak_checks import Check, exactness_checks, flat_checks
from benchmarks.hostile_soak_producer import LogProducer, write_atomically

REPOSITORY = Path(__file__).resolve().parents[1]
MAX_CRASHES = 3  # Exits the supervisor did not cause before it gives up.
STALL_SECONDS = 600.0  # A trainer that finishes no epoch for this long is killed as hung.


class Supervisor:
    """Owns the soak's folders, the producer and the trainer process; kills and restarts the trainer.

    The trainer asks for a producer step at every epoch's end (a `request` file) and waits for it
    (the `step` file); kills come at steps drawn once from the seed, each after a random part of
    an epoch's time, so that they land in polls, in `fit`, in saves and in the wait alike.

    Args:
        root: an empty folder for the watched folder, the state, the store, the backup and the logs.
        epochs: epochs to train.
        kills: SIGKILLs to send, between 10% and 70% of the epochs.
        window: the window's bound, in files.
        seed: seed of the producer and of the kills.
        rotate_every: producer steps between two rotations of the log.
    """

    def __init__(self, root: Path, epochs: int, kills: int, window: int, seed: int, rotate_every: int):
        self.root = root
        self.epochs = epochs
        self.sync = root / "sync"
        self.sync.mkdir()
        (root / "logs").mkdir()
        self.config = dict(
            root=str(root),
            folder=str(root / "folder"),
            state_dir=str(root / "state"),
            storage_dir=str(root / "storage"),
            backup_dir=str(root / "backup"),
            records=str(root / "records.jsonl"),
            sync=str(self.sync),
            epochs=epochs,
            window_files=window,
        )
        (root / "config.json").write_text(json.dumps(self.config))
        self.producer = LogProducer(root / "folder", seed=seed, rotate_every=rotate_every)
        draw = random.Random(seed)
        steps = range(max(1, epochs // 10), max(2, epochs * 7 // 10))
        self.kill_plan = sorted(
            (step, draw.uniform(0, 1.5)) for step in draw.sample(steps, min(kills, len(steps)))
        )
        self.kills = 0
        self.killed_at = []
        self.starts = 0
        self.crashes = []
        self.step_times = []
        self.trainer = None

    def run(self) -> float:
        """Trains to the end (or until `MAX_CRASHES` unexpected exits); returns the seconds it took."""
        begin = time.perf_counter()
        while not self.producer.ledger.written:  # The first poll finds rows.
            self.publish(self.producer.step())
        self.start()
        while True:
            self.serve_request()
            code = self.trainer.poll()
            if code is not None:
                if code == 0 and (self.sync / "done").exists():
                    break
                self.crashes.append(f"exit {code}: {self.log_tail()}")
                if len(self.crashes) >= MAX_CRASHES:
                    break
                self.restart()
            elif self.kill_due() or self.stalled():
                self.trainer.send_signal(signal.SIGKILL)
                self.trainer.wait()
                self.kills += 1
                self.killed_at.append(self.producer.step_count)
                self.restart()
            time.sleep(0.002)
        return time.perf_counter() - begin

    def publish(self, step: int) -> None:
        write_atomically(self.sync / "step", str(step))
        self.step_times.append(time.monotonic())

    def serve_request(self) -> None:
        request = self.sync / "request"
        if request.exists() and int(request.read_text()) > self.producer.step_count:
            self.publish(self.producer.step())

    def start(self) -> None:
        log = open(self.root / "logs" / f"trainer-{self.starts}.log", "w")
        self.trainer = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "benchmarks.hostile_soak_probe",
                str(self.root / "config.json"),
                str(self.starts),
            ],
            cwd=REPOSITORY,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
        log.close()
        self.starts += 1
        self.started_at = time.monotonic()

    def restart(self) -> None:
        """Starts the trainer again; a request of the dead one is dropped, so nothing lands in its poll."""
        (self.sync / "request").unlink(missing_ok=True)
        self.start()

    def kill_due(self) -> bool:
        """Whether the next planned kill's moment came: its step done, then part of an epoch's time."""
        if not self.kill_plan or self.producer.step_count < self.kill_plan[0][0]:
            return False
        own = [moment for moment in self.step_times[-21:] if moment >= self.started_at]
        if len(own) < 2:  # Not before this trainer finished two epochs: the kill lands in its loop.
            return False
        epoch = statistics.median(b - a for a, b in zip(own, own[1:], strict=False))
        if time.monotonic() < own[-1] + self.kill_plan[0][1] * epoch:
            return False
        self.kill_plan.pop(0)
        return True

    def stalled(self) -> bool:
        last = max(self.step_times[-1], self.started_at)
        if time.monotonic() - last < STALL_SECONDS:
            return False
        self.crashes.append(f"no epoch finished in {STALL_SECONDS:.0f} s: killed; {self.log_tail()}")
        return True

    def log_tail(self) -> str:
        lines = (self.root / "logs" / f"trainer-{self.starts - 1}.log").read_text().strip().splitlines()
        return " / ".join(lines[-3:])[-600:]


def read_records(path: Path) -> tuple[dict[int, dict], int]:
    """The last record of each epoch (a re-run after a kill replaces the killed one), and torn lines."""
    records, torn = {}, 0
    for line in path.read_text().splitlines() if path.exists() else []:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            torn += 1
            continue
        records[record["epoch"]] = record
    return records, torn


def steady_epoch_seconds(records: dict[int, dict]) -> float:
    """The median time between two consecutive epochs' records of one process."""
    ordered = [records[epoch] for epoch in sorted(records)]
    gaps = [
        b["time"] - a["time"]
        for a, b in zip(ordered, ordered[1:], strict=False)
        if a["pid"] == b["pid"] and b["epoch"] == a["epoch"] + 1
    ]
    return statistics.median(gaps) if gaps else float("nan")


def run_checks(supervisor: Supervisor, records: dict[int, dict], torn: int, window: int) -> list[Check]:
    """The kills survived, then every invariant of `hostile_soak_checks` on the records."""
    done = (supervisor.sync / "done").exists()
    recorded = sorted(records) == list(range(supervisor.epochs))
    figures = (
        f"{supervisor.kills} SIGKILLs (after producer steps {supervisor.killed_at}), "
        f"{supervisor.starts - 1} restarts, {len(supervisor.crashes)} other exits; "
        f"{len(records):,} of {supervisor.epochs:,} epochs recorded, {torn} torn records"
    )
    crashes = "".join(f"; {crash}" for crash in supervisor.crashes[:2])
    passed = done and recorded and not supervisor.crashes
    checks = [Check("kills survived: every epoch recorded, the run finished", passed, figures + crashes)]
    if records:
        ledger = supervisor.producer.ledger
        checks += exactness_checks(records, ledger, supervisor.config["folder"], window)
        checks += flat_checks(records, ledger, window, keras_control(supervisor.root, records))
    return checks


def keras_control(root: Path, records: dict[int, dict]) -> dict[int, dict]:
    """The Keras control's records: as many epochs as the last trainer process ran, on as many rows."""
    last_pid = records[max(records)]["pid"]
    own = [record for record in records.values() if record["pid"] == last_pid]
    rows = int(statistics.median(record["rows"] for record in own))
    path = root / "control.jsonl"
    command = [sys.executable, "-m", "benchmarks.hostile_soak_probe", "control", str(len(own)), str(rows)]
    with open(root / "logs" / "control.log", "w") as log:
        subprocess.run(
            [*command, str(path)],
            cwd=REPOSITORY,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
            check=True,
        )
    return read_records(path)[0]


def render(checks: list[Check]) -> str:
    lines = ["| invariant | result | figures |", "|---|---|---|"]
    for check in checks:
        cells = [check.invariant, "PASS" if check.passed else "FAIL", check.figures]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def report(
    supervisor: Supervisor, checks: list[Check], records: dict, seconds: float, argv: list[str]
) -> str:
    """The run's figures, an estimate of a 10,000-epoch run's time, what the producer did, the table."""
    ledger = supervisor.producer.ledger
    epoch = steady_epoch_seconds(records)
    start = (seconds - epoch * len(records)) / max(1, supervisor.starts)
    full_run = (10_000 * epoch + 11 * start) / 60
    rotations = ledger.rotations
    return (
        f"Command: `python -m benchmarks.hostile_soak {' '.join(argv)}`; {os.cpu_count()} CPU cores, load "
        f"average {os.getloadavg()[0]:.1f} at the end. {seconds:.0f} s in all: a steady epoch "
        f"{epoch * 1e3:.0f} ms, a start about {start:.0f} s; 10,000 epochs with 10 kills: about "
        f"{full_run:.0f} min.\n"
        f"Producer: {supervisor.producer.step_count:,} steps, {len(ledger.written):,} lines "
        f"({ledger.partial_lines:,} written partial first); rotations: {rotations['create']} by create, "
        f"{rotations['copytruncate']} by copytruncate; {ledger.moves} moves into date folders, "
        f"{ledger.drops} files dropped.\n\n{render(checks)}\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.hostile_soak", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--epochs", type=int, default=10_000, help="epochs to train (default 10,000)")
    parser.add_argument(
        "--smoke", action="store_true", help="50 epochs, 3 kills, a rotation every 5 (for CI)"
    )
    parser.add_argument("--kills", type=int, help="SIGKILLs to send (default: 3, or one per 1,000 epochs)")
    parser.add_argument("--window", type=int, default=6, help="Window(files=...) of the trainer (default 6)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    parser.add_argument("--keep", type=Path, help="run in this new folder and keep it (records, logs, state)")
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    epochs = 50 if args.smoke else args.epochs
    kills = args.kills if args.kills is not None else max(3, epochs // 1000)
    with tempfile.TemporaryDirectory(prefix="kgd-hostile-soak-") as scratch:
        root = args.keep or Path(scratch)
        root.mkdir(parents=True, exist_ok=True)
        supervisor = Supervisor(root, epochs, kills, args.window, args.seed, 5 if args.smoke else 10)
        seconds = supervisor.run()
        records, torn = read_records(root / "records.jsonl")
        checks = run_checks(supervisor, records, torn, args.window)
        text = report(supervisor, checks, records, seconds, argv)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0 if all(check.passed for check in checks) else 1


if __name__ == "__main__":
    sys.exit(main())

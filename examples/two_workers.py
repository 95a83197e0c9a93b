"""Two workers train one model on a folder that grows while they train.

Run it from a checkout or with the package installed:

    python examples/two_workers.py

It starts two local worker processes (TF's MultiWorkerMirroredStrategy over
two localhost ports, set through TF_CONFIG), and, in this process, a producer
that drops a CSV file into the shared folder every `--every` seconds once the
workers train. Worker 0 is the chief: at each epoch boundary it decides which
files are in and publishes that snapshot; worker 1 follows it. At the end it
prints the rows each worker trained per epoch and whether their final weights
are bitwise identical.

On real hosts, run the worker part on each host with its own TF_CONFIG
(`python examples/two_workers.py --worker INDEX --hosts host0:port,host1:port
--folder /shared/incoming --out /tmp/w`), with the folder on shared storage.
"""

import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, CHECKOUT)  # Runs from a checkout, installed or not; so do the workers.

from keras_growing_data.distribute.local_ports import free_ports  # noqa: E402

FEATURES = ["x1", "x2", "x3", "x4"]
WEIGHTS = np.array([1.5, -2.0, 0.5, 3.0])


def write_file(folder: str, number: int, rows: int, rng: np.random.Generator) -> None:
    """Writes one CSV file under a temporary name, then renames it into the folder."""
    x = rng.normal(size=(rows, len(FEATURES)))
    y = x @ WEIGHTS + 0.1 * rng.normal(size=rows)
    name = os.path.join(folder, f"part-{number:04d}.csv")
    with open(name + ".part", "w") as f:  # ".part" files are never read.
        f.write(",".join(FEATURES + ["y"]) + "\n")
        for row, label in zip(x, y, strict=True):
            f.write(",".join(f"{v:.6f}" for v in row) + f",{label:.6f}\n")
    os.rename(name + ".part", name)


def worker(args) -> None:
    """One worker: the same code on every host; TF_CONFIG says which one it is."""
    hosts = args.hosts.split(",")
    os.environ["TF_CONFIG"] = json.dumps(
        {"cluster": {"worker": hosts}, "task": {"type": "worker", "index": args.worker}}
    )
    import keras
    import tensorflow as tf

    from keras_growing_data import MultiWorkerTrainer, WorkerDataCallback

    strategy = tf.distribute.MultiWorkerMirroredStrategy()  # Waits for every worker.
    with strategy.scope():
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [keras.Input((len(FEATURES),)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)]
        )
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    data = WorkerDataCallback(
        args.folder,
        label="y",
        batch_size=32,
        seed=1,
        settle_seconds=0,
        strategy=strategy,
        snapshot_timeout=120,
    )

    class Report(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            role = " (chief)" if data.is_chief else ""
            line = (
                f"[worker {args.worker}{role}] epoch {epoch}: {logs['rows']} rows from {logs['files']} files"
            )
            sys.stdout.write(f"{line}, loss {logs['loss']:.4f}\n")  # One write: lines do not interleave.
            sys.stdout.flush()
            time.sleep(args.epoch_pause)  # Slow the toy epochs down so the folder grows meanwhile.

    history = MultiWorkerTrainer(model, data).fit(epochs=args.epochs, callbacks=[Report()], verbose=0)
    np.savez(args.out + ".npz", *[w.numpy() for w in model.trainable_weights])
    with open(args.out + ".json", "w") as f:
        json.dump({"rows": history.history["rows"], "files": history.history["files"]}, f)


def launch(args) -> int:
    """Starts two workers and a producer; reports what each worker trained."""
    folder = args.folder or tempfile.mkdtemp(prefix="two-workers-")
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(0)
    write_file(folder, 0, 500, rng)
    hosts = ",".join(f"localhost:{port}" for port in free_ports(2))
    outs = [os.path.join(folder, f"_worker{i}") for i in range(2)]  # "_": never read as data.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [CHECKOUT, env.get("PYTHONPATH")]))
    common = ["--folder", folder, "--hosts", hosts, "--epochs", str(args.epochs)]
    common += ["--epoch-pause", str(args.epoch_pause)]
    workers = [
        subprocess.Popen([sys.executable, __file__, "--worker", str(i), "--out", outs[i], *common], env=env)
        for i in range(2)
    ]
    print(f"Folder {folder}; workers on {hosts}.", flush=True)
    deadline = time.monotonic() + args.timeout
    number, next_file = 1, None
    try:
        while any(w.poll() is None for w in workers):
            if any(w.returncode not in (None, 0) for w in workers) or time.monotonic() > deadline:
                print("A worker failed or the time ran out; stopping both.", flush=True)
                break
            if next_file is None and glob.glob(os.path.join(folder, "_workers", "*", "epoch-*.json")):
                print(f"Training started; a new file every {args.every:g} s.", flush=True)
                next_file = time.monotonic() + args.every
            if next_file is not None and number <= args.files and time.monotonic() >= next_file:
                write_file(folder, number, int(rng.integers(50, 400)), rng)
                number, next_file = number + 1, next_file + args.every
            time.sleep(0.05)
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
            w.wait()
    if any(w.returncode != 0 for w in workers):
        return 1

    results = [json.load(open(out + ".json")) for out in outs]
    print("\nepoch  rows on worker 0  rows on worker 1  files")
    table = zip(results[0]["rows"], results[1]["rows"], results[0]["files"], strict=True)
    for epoch, (r0, r1, files) in enumerate(table):
        print(f"{epoch:5d}  {r0:15d}  {r1:15d}  {files:5d}")
    weights = [np.load(out + ".npz") for out in outs]
    identical = all(weights[0][k].tobytes() == weights[1][k].tobytes() for k in weights[0].files)
    print(f"\nFinal weights bitwise identical on both workers: {identical}")
    return 0 if identical and results[0]["rows"] == results[1]["rows"] else 1


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--folder", help="the shared data folder (default: a new temporary folder)")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--files", type=int, default=5, help="files the producer drops after the first")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between the producer's files")
    parser.add_argument("--epoch-pause", type=float, default=1.0, help="seconds each toy epoch sleeps")
    parser.add_argument("--timeout", type=float, default=300, help="seconds before both workers are killed")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--hosts", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker is not None:
        worker(args)
        return 0
    return launch(args)


if __name__ == "__main__":
    sys.exit(main())

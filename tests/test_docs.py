"""Every code block of README.md and docs/*.md runs as written, on generated data.

Each page runs in a fresh Python process, in a temporary folder that holds
the data the pages read (`incoming/` and `validation/` folders of small CSV
files with gaps, a partitioned `lake/`, a growing log in `logs/`): its
```python blocks in order, in one namespace, and, where they stand, the
commands of its ```console blocks (`$ keras-growing-data ...`), which must
exit 0. Python's UserWarnings are errors there: a snippet Keras warns about
(`EarlyStopping` with no `val_loss` to monitor) fails.

A block that cannot run (it needs a cluster, installs packages, is the test
suite itself) is marked by the line before it, `<!-- not run: why -->`, and
counted; a console block whose last command is meant to fail, by
`<!-- exit status N -->`. Fences hold python, console or text; anything else
fails, so no block is left out unnoticed. Links must lead to a file and a
heading that exist.
"""

import concurrent.futures
import csv
import dataclasses
import gzip
import json
import os
import re
import shlex
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
PAGES = ["README.md", *sorted(f"docs/{name}" for name in os.listdir(DOCS) if name.endswith(".md"))]
LANGUAGES = ("python", "console", "text")
NOT_RUN = 9  # The blocks marked <!-- not run: ... -->: a new one is a decision, counted here.
MARKER = re.compile(r"<!-- (not run: (?P<reason>.+)|exit status (?P<status>\d+)) -->")
OLD = 1_000_000_000  # A modification time long past: every file has settled.


@dataclasses.dataclass
class Block:
    page: str
    line: int  # Of the opening fence, 1-based.
    language: str
    code: str
    not_run: str | None = None  # Why, when marked.
    exit_status: int = 0

    def commands(self) -> list[list[str]]:
        """A console block's commands (`$ ...` lines, `\\` continuing them), split as a shell would."""
        commands, current = [], None
        for line in self.code.splitlines():
            if current is None and not line.startswith("$ "):
                continue  # Output.
            current = (current or "") + line.removeprefix("$ ").removesuffix("\\")
            if not line.endswith("\\"):
                commands.append(shlex.split(current, comments=True))
                current = None
        return commands


def blocks(page: str) -> list[Block]:
    """The fenced code blocks of a page, with the marker on the line before each, if any."""
    with open(os.path.join(ROOT, page), encoding="utf-8") as f:
        lines = f.read().splitlines()
    found, i, marker = [], 0, None
    while i < len(lines):
        line = lines[i]
        if line.strip():
            if line.startswith("```"):
                start, language = i, line[3:].strip()
                i += 1
                while not lines[i].startswith("```"):
                    i += 1
                block = Block(page, start + 1, language, "\n".join(lines[start + 1 : i]) + "\n")
                if marker:
                    block.not_run = marker["reason"]
                    block.exit_status = int(marker["status"] or 0)
                found.append(block)
                marker = None
            else:
                if marker:
                    raise AssertionError(f"{page}:{i}: a marker not followed by a code block")
                marker = MARKER.fullmatch(line.strip())
        i += 1
    return found


def runnable(block: Block) -> bool:
    return block.language in ("python", "console") and block.not_run is None


RUNNER = """
import json, os, subprocess, sys, time

root, blocks = sys.argv[1], json.load(open(sys.argv[2]))
env = {**os.environ, "PYTHONPATH": root}
namespace = {"__name__": "__main__"}
start = time.monotonic()
for block in blocks:
    where = f"{block['page']}:{block['line']}"
    print(f"--- {where} at {time.monotonic() - start:.1f} s", flush=True)
    if block["language"] == "python":
        exec(compile(block["code"], where, "exec"), namespace)
        continue
    for i, command in enumerate(block["commands"]):
        expected = block["exit_status"] if i == len(block["commands"]) - 1 else 0
        done = subprocess.run([sys.executable, "-m", "keras_growing_data", *command[1:]], env=env)
        if done.returncode != expected:
            sys.exit(f"{where}: {' '.join(command)} exited {done.returncode}, not {expected}")
print(f"--- done at {time.monotonic() - start:.1f} s", flush=True)
"""


def test_every_block_runs_or_says_why_not():
    everything = [block for page in PAGES for block in blocks(page)]
    for block in everything:
        where = f"{block.page}:{block.line}"
        assert block.language in LANGUAGES, f"{where}: a ```{block.language} block; use {LANGUAGES}"
        if block.language == "console" and runnable(block):
            assert block.commands(), f"{where}: a console block without a `$ ` command"
            for command in block.commands():
                assert command[0] == "keras-growing-data", (
                    f"{where}: `{' '.join(command)}` is not a keras-growing-data command: "
                    "mark the block <!-- not run: why -->"
                )
        if block.not_run is not None:
            assert block.language != "text", f"{where}: a text block is never run; drop its marker"
            assert block.not_run.strip(), f"{where}: say why the block is not run"
    marked = [f"{block.page}:{block.line}" for block in everything if block.not_run is not None]
    assert len(marked) == NOT_RUN, f"{len(marked)} blocks are not run, {NOT_RUN} expected: {marked}"


LINK = re.compile(r"\]\(([^)\s]+)\)")


def anchors(page: str) -> set[str]:
    """The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as dashes."""
    with open(os.path.join(ROOT, page), encoding="utf-8") as f:
        text = re.sub(r"```.*?```", "", f.read(), flags=re.S)
    headings = re.findall(r"^#+ (.+)$", text, flags=re.M)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


def test_every_link_leads_somewhere():
    for page in PAGES:
        with open(os.path.join(ROOT, page), encoding="utf-8") as f:
            text = re.sub(r"```.*?```", "", f.read(), flags=re.S)
        for target in LINK.findall(text):
            if target.startswith(("http://", "https://")):
                continue
            path, _, anchor = target.partition("#")
            linked = os.path.normpath(os.path.join(os.path.dirname(page), path)) if path else page
            assert os.path.exists(os.path.join(ROOT, linked)), f"{page}: {target} leads nowhere"
            if anchor:
                assert anchor in anchors(linked), f"{page}: {target}: {linked} has no heading #{anchor}"


RUN_PAGES = [page for page in PAGES if any(runnable(block) for block in blocks(page))]


@pytest.fixture(scope="module")
def page_runs(request, tmp_path_factory):
    """Page -> its run, of the pages selected, two at a time: a run mostly waits on imports and `fit`."""
    selected = [
        item.callspec.params["page"]
        for item in request.session.items
        if item.name.startswith("test_page_runs_as_written[")
    ]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        yield {page: pool.submit(run_page, page, tmp_path_factory.mktemp("page")) for page in selected}


def run_page(page: str, folder) -> subprocess.CompletedProcess:
    write_data(folder)
    chosen = [
        {**dataclasses.asdict(block), "commands": block.commands() if block.language == "console" else []}
        for block in blocks(page)
        if runnable(block)
    ]
    (folder / "blocks.json").write_text(json.dumps(chosen))
    # A warning fails the page: Keras warns of what does not work as written (EarlyStopping on a
    # `val_loss` that no validation data gives, Keras 3.15.1 callbacks/early_stopping.py).
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "MPLBACKEND": "Agg", "PYTHONPATH": ROOT}
    env["PYTHONWARNINGS"] = "error::UserWarning"
    return subprocess.run(
        [sys.executable, "-c", RUNNER, ROOT, str(folder / "blocks.json")],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize("page", RUN_PAGES)
def test_page_runs_as_written(page, page_runs):
    done = page_runs[page].result()
    assert done.returncode == 0, f"{page} failed:\n{done.stdout[-6000:]}\n{done.stderr[-6000:]}"


NEIGHBORHOODS = ["Old Town", "Harbour", "New York, NY", "Riverside"]


def house(i: int) -> list:
    """One row of the houses the pages train on: area, rooms, neighborhood, price."""
    area = 30 + (i * 37) % 120
    rooms = 1 + i % 5
    neighborhood = NEIGHBORHOODS[i % len(NEIGHBORHOODS)]
    price = round(2.0 * area + 15 * rooms + 40 * (i % len(NEIGHBORHOODS)), 1)
    return [area, rooms, neighborhood, price]


def write_houses(path, first: int, count: int, gaps: dict[int, tuple[int, str]] = None) -> None:
    """Writes `count` houses; `gaps` maps a row to the (column, spelling) of a missing value there."""
    with open(path, "w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(["area", "rooms", "neighborhood", "price"])
        for i in range(first, first + count):
            row = house(i)
            if gaps and i - first in gaps:
                column, spelling = gaps[i - first]
                row[column] = spelling
            writer.writerow(row)
    os.utime(path, (OLD, OLD))


def write_data(root) -> None:
    """The folders the pages read: real-looking files, with the gaps real files have."""
    os.makedirs(root / "incoming")
    os.makedirs(root / "validation")
    write_houses(root / "incoming" / "day-1.csv", 0, 300)
    write_houses(root / "incoming" / "day-2.csv", 300, 300, gaps={4: (1, ""), 9: (1, "NA"), 17: (3, "")})
    write_houses(root / "validation" / "day-1.csv", 1000, 100, gaps={3: (1, "")})
    for day, hour in (("2026-12-01", 3), ("2026-12-02", 4)):
        folder = root / "lake" / "events" / f"dt={day}" / f"hour={hour:02d}"
        os.makedirs(folder)
        path = folder / "part-0000.csv.gz"
        with gzip.open(path, "wt") as f:
            f.write("price,clicked\n")
            f.writelines(f"{10 + i % 7},{i % 2}\n" for i in range(50))
        os.utime(path, (OLD, OLD))
    os.makedirs(root / "logs")
    with open(root / "logs" / "2026-12-03.csv", "w") as f:
        f.write("bytes,latency_ms\n")
        f.writelines(f"{100 * (1 + i % 9)},{3 + (i % 9) * 0.5}\n" for i in range(80))
    os.utime(root / "logs" / "2026-12-03.csv", (OLD, OLD))

"""Generates the API reference page, docs/reference.md, from the docstrings, or checks it.

Usage, from the repository root:

    python notebooks/api_reference.py                 # print the page
    python notebooks/api_reference.py --write [FILE]  # write it (docs/reference.md)
    python notebooks/api_reference.py --check [FILE]  # exit 1 if FILE is stale

The page lists every name of `keras_growing_data.__all__` with its signature
and the first line of its docstring, the public methods and properties of
the public classes, the fields of the records, and the command line's
commands. `tests/test_notebooks.py` checks on every CI run that the page is
the reference of the code.
"""

import argparse
import dataclasses
import inspect
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras_growing_data as kgd  # noqa: E402
from keras_growing_data.cli.main import _parser  # noqa: E402

PAGE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "docs", "reference.md")
HEADER = """# API reference

Every public name of `keras_growing_data` (`import keras_growing_data as kgd`) and every command,
with the first line of its docstring: `help(kgd.GrowingDataCallback)` has the rest. Generated from
the docstrings by `python notebooks/api_reference.py --write`; a test keeps it in step with the
code.
"""
KERAS_HOOKS = ("on_", "set_model", "set_params")


def summary(obj) -> str:
    """The first line of an object's docstring, or '' when it has none."""
    doc = inspect.getdoc(obj) or ""
    return doc.strip().splitlines()[0] if doc.strip() else ""


def signature(name: str, obj) -> str:
    params = []
    for p in inspect.signature(obj).parameters.values():
        if p.name == "self":
            continue
        params.append(p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}")
    return f"{name}({', '.join(params)})"


def members(cls) -> list[tuple[str, str]]:
    """`(how it is written, summary)` for the public methods and properties a class defines."""
    rows = []
    for name, value in vars(cls).items():
        if name.startswith("_") or name.startswith(KERAS_HOOKS):
            continue
        if isinstance(value, property):
            rows.append((f"`.{name}`", summary(value)))
        elif inspect.isfunction(value):
            rows.append((f"`.{name}()`", summary(value)))
    return rows


def reference() -> str:
    """The reference page, as Markdown."""
    lines = [HEADER, "| Name | What it is |", "| --- | --- |"]
    for name in kgd.__all__:
        obj = getattr(kgd, name)
        if inspect.isclass(obj) and issubclass(obj, Exception):
            base = next(b for b in obj.__mro__[1:] if b.__module__ == "builtins")
            bases = [
                b for b in (kgd.GrowingDataError, base) if issubclass(obj, b) and b not in (obj, Exception)
            ]
            kinds = "".join(f"{'; a' if i == 0 else ' and a'} `{b.__name__}`" for i, b in enumerate(bases))
            lines.append(f"| `{name}` | {summary(obj)} An exception{kinds}. |")
        elif dataclasses.is_dataclass(obj):
            fields = ", ".join(f"`{f.name}`" for f in dataclasses.fields(obj))
            lines.append(f"| `{name}` | {summary(obj)} Fields: {fields}. |")
        elif inspect.isclass(obj):
            lines.append(f"| `{signature(name, obj)}` | {summary(obj)} |")
            lines += [f"| {member} | {text} |" for member, text in members(obj)]
        else:
            lines.append(f"| `{signature(name, obj)}` | {summary(obj)} |")
    lines += ["", "| Command | What it does |", "| --- | --- |"]
    commands = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    for choice in commands._choices_actions:
        usage = commands.choices[choice.dest].format_usage().removeprefix("usage: ").replace(" [-h]", "")
        lines.append(f"| `{' '.join(usage.split())}` | {choice.help[0].upper() + choice.help[1:]}. |")
    return "\n".join([lines[0], *(line.replace("\n", " ") for line in lines[1:])]) + "\n"


def stored(path: str) -> str | None:
    """The page as it stands at `path`, or None if there is none."""
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return f.read()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", metavar="FILE", nargs="?", const=PAGE)
    parser.add_argument("--check", metavar="FILE", nargs="?", const=PAGE)
    args = parser.parse_args(argv)
    if args.write:
        with open(args.write, "w") as f:
            f.write(reference())
    elif args.check:
        if stored(args.check) != reference():
            print(f"{args.check}: the API reference is stale; run: python {__file__} --write {args.check}")
            return 1
    else:
        print(reference(), end="")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

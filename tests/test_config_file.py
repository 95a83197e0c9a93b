import inspect
import json

import pytest
from helpers import run_python

from keras_growing_data.cli.config_file import CONFIG_KEYS, read_config
from keras_growing_data.training.callback import GrowingDataCallback

KEYS = ", ".join(CONFIG_KEYS)


def test_the_keys_are_the_keyword_arguments_of_the_callback_a_file_can_hold():
    parameters = list(inspect.signature(GrowingDataCallback).parameters)
    assert list(CONFIG_KEYS) == [name for name in parameters if name not in ("directory", "window")]


def test_a_json_file_and_a_toml_file_give_the_same_keyword_arguments(tmp_path):
    options = {
        "label": "murder",
        "on_bad_row": "skip",
        "columns": {"state": "string", "poverty": "float32", "murder": "float32"},
        "defaults": {"poverty": 0.0},
        "na_values": ["NA", "-"],
        "recursive": True,
    }
    (tmp_path / "run.json").write_text(json.dumps(options))
    (tmp_path / "run.toml").write_text(
        'label = "murder"\non_bad_row = "skip"\nna_values = ["NA", "-"]\nrecursive = true\n\n'
        '[columns]\nstate = "string"\npoverty = "float32"\nmurder = "float32"\n\n[defaults]\npoverty = 0.0\n'
    )
    assert read_config(str(tmp_path / "run.json")) == options
    assert read_config(str(tmp_path / "run.toml")) == options


def test_a_typo_in_a_key_names_the_valid_keys(tmp_path):
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"label": "y", "default": {"x": 0}}))
    with pytest.raises(ValueError) as error:
        read_config(str(path))
    assert str(error.value) == (
        f"{str(path)!r} has an unknown key 'default' (did you mean 'defaults'?); "
        f"the keys are GrowingDataCallback's keyword arguments: {KEYS}"
    )
    path.write_text(json.dumps({"epochs": 20}))
    with pytest.raises(ValueError, match=f"unknown key 'epochs'; the keys are .*: {KEYS}$"):
        read_config(str(path))


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("run.json", '{"directory": "in/"}', "has the key 'directory': the folder is the command's FOLDER"),
        ("run.json", '{"window": {"files": 3}}', "a config file cannot hold a Window: use --window-files"),
        ("run.yaml", "label: y", "must be a .json or a .toml file"),
        ("run.json", '{"label": "y",}', "is not valid JSON: Expecting property name"),
        ("run.toml", "label = y", "is not valid TOML: Invalid value"),
        (
            "run.json",
            '["label", "y"]',
            "must hold an object of GrowingDataCallback's keyword arguments, not a list",
        ),
    ],
)
def test_a_file_that_is_not_a_table_of_keyword_arguments_says_why(tmp_path, name, text, message):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ValueError, match=message.replace(".", r"\.").replace("[", r"\[")):
        read_config(str(path))
    with pytest.raises(ValueError, match="cannot read .*: No such file or directory"):
        read_config(str(tmp_path / "missing.json"))


TYPO_WITHOUT_TENSORFLOW = """
import contextlib, io, json
from keras_growing_data.cli.main import main

with contextlib.redirect_stderr(io.StringIO()) as err:
    code = main(["status", sys.argv[1], "--config", sys.argv[2]])
print(json.dumps([code, err.getvalue().splitlines()[-1], "tensorflow" in sys.modules]))
"""


def test_the_commands_answer_a_typo_at_once_without_importing_tensorflow(folder, tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('label = "y"\non_bad_rows = "skip"\n')
    run = run_python(tmp_path, TYPO_WITHOUT_TENSORFLOW, folder, path)
    assert run.returncode == 0, run.stderr.decode()
    assert json.loads(run.stdout.decode().splitlines()[-1]) == [
        2,
        f"keras-growing-data status: error: argument --config: {str(path)!r} has an unknown key "
        f"'on_bad_rows' (did you mean 'on_bad_row'?); the keys are GrowingDataCallback's keyword "
        f"arguments: {KEYS}",
        False,
    ]

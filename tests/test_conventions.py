"""docs/conventions.md names every flag of every command and every Make variable a user may set."""

import importlib
import re
from pathlib import Path

import click

REPO = Path(__file__).resolve().parents[1]
CONVENTIONS = REPO / "docs" / "conventions.md"
# Only `?=` assignments are a user's knobs. The `:=` ones (PY, RUN_DIR, CORPUS_ARG and the other *_ARG(S),
# STAMP, FAST_COMPARE) are the Makefile's internals and are not checked. PYTHON and VENV are `?=` and are
# documented too (a user may pick the interpreter or the venv), so no `?=` variable is private.
PRIVATE_MAKE_VARIABLES: set[str] = set()


def mentioned(name: str, text: str) -> bool:
    """``name`` appears as a whole token: ``--seed`` is not found inside ``--seeds``, ``RUN`` not in ``RUN_DIR``."""
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


def commands() -> dict[str, click.Command]:
    """Every click command of pipelines/: the module's ``cli``, by module name."""
    found = {}
    for path in sorted((REPO / "pipelines").glob("*.py")):
        module = importlib.import_module(f"pipelines.{path.stem}")
        cli = getattr(module, "cli", None)
        if isinstance(cli, click.Command):
            found[path.stem] = cli
    return found


def flags(command: click.Command) -> set[str]:
    """The long flags of a command's options, the secondary ones (``--no-bias``) included."""
    return {opt for param in command.params if isinstance(param, click.Option)
            for opt in [*param.opts, *param.secondary_opts] if opt.startswith("--")}


def make_variables() -> set[str]:
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    return set(re.findall(r"^([A-Za-z_][A-Za-z0-9_]*)\s*\?=", text, flags=re.MULTILINE))


def test_every_command_flag_is_in_the_conventions():
    text = CONVENTIONS.read_text(encoding="utf-8")
    found = commands()
    assert {"prepare", "pretrain", "train_gpt", "sample", "compare", "sweep", "datasweep", "eval",
            "bench"} <= set(found)
    missing = sorted(f"{name} {flag}" for name, command in found.items() for flag in flags(command)
                     if not mentioned(flag, text))
    assert not missing, "flags missing from docs/conventions.md: " + ", ".join(missing)


def test_every_make_variable_is_in_the_conventions():
    text = CONVENTIONS.read_text(encoding="utf-8")
    variables = make_variables()
    assert {"RUN", "CORPUS", "DIM", "JOBS", "X_MAX", "GPT_EPOCHS"} <= variables
    missing = sorted(name for name in variables - PRIVATE_MAKE_VARIABLES if not mentioned(name, text))
    assert not missing, "Make variables missing from docs/conventions.md: " + ", ".join(missing)


def test_the_check_sees_a_missing_name():
    assert mentioned("--seed", "`--seed S`") and not mentioned("--seed", "[--seeds 3]")
    assert mentioned("--bias", "`--bias/--no-bias`") and not mentioned("--bias", "`--no-bias`")
    assert mentioned("RUN", "`RUN ?= default`") and not mentioned("RUN", "RUN_DIR")

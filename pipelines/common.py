"""What every command shares: the ``--run-dir`` option, device choice and the exit-code contract.

Exit codes: 0 done; 2 bad input or usage (one line on stderr, no traceback); 1 an internal error.
"""

from __future__ import annotations

import functools
import math
import re
import sys
from pathlib import Path

import click

from base.device import DEVICES, resolve_device  # noqa: F401 (the commands' one meaning of --device)
from base.errors import InputError
from base.limits import MAX_SEED, MAX_TOKENS

DEFAULT_RUN_DIR = "runs/default"

run_dir_option = click.option(
    "--run-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_RUN_DIR,
    show_default=True,
    help="Directory holding every artifact of this run.",
)

device_option = click.option(
    "--device",
    type=click.Choice(DEVICES),
    default="auto",
    show_default=True,
    help="Torch device; auto picks CUDA when present.",
)


COUNT = click.IntRange(min=1)  # every count option: a value below 1 is one line and exit 2
SEED = click.IntRange(min=0, max=MAX_SEED)  # every seed option


class TokenCount(click.ParamType):
    """A token count: ``200000``, ``2e5``, ``200k`` or ``1M``."""

    name = "N"
    _pattern = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmg]?)\s*$", re.IGNORECASE)

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            number = value
        else:
            match = self._pattern.match(str(value))
            if not match:
                self.fail(f"{value!r} is not a token count (e.g. 200000, 200k, 1M)", param, ctx)
            number = float(match.group(1)) * {"": 1, "k": 1e3, "m": 1e6, "g": 1e9}[match.group(2).lower()]
        if number < 1:
            self.fail(f"{value!r} must be at least 1", param, ctx)
        if number > MAX_TOKENS:
            self.fail(f"{value!r} is above the limit of {MAX_TOKENS:,} (10^12) tokens", param, ctx)
        return int(round(number))


class PositiveNumber(click.ParamType):
    """A finite number above 0 (``inf`` and ``nan`` are refused when the option is read, not after a study)."""

    name = "X"

    def convert(self, value, param, ctx):
        try:
            number = float(value)
        except (TypeError, ValueError):
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number) or number <= 0:
            self.fail(f"{value!r} must be a finite number above 0", param, ctx)
        return number


POSITIVE = PositiveNumber()


class NonEmpty(click.ParamType):
    """A text that is not empty (nor only spaces): an empty path or corpus is a mistake, never a default."""

    name = "TEXT"

    def convert(self, value, param, ctx):
        if not str(value).strip():
            self.fail("must not be empty", param, ctx)
        return value


def show_progress(quiet: bool) -> bool:
    """Progress bars only for a person watching: not with --quiet, not when stderr is a file or pipe."""
    return not quiet and sys.stderr.isatty()


def fail(message: str) -> None:
    """Print one line to stderr and exit with code 2."""
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


def handle_errors(func):
    """Turn InputError and a missing input file into one stderr line and exit code 2, and an OS failure
    (disk full, no permission, read-only filesystem, ...) into one line naming the path and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except InputError as exc:
            fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        except (FileNotFoundError, IsADirectoryError) as exc:
            fail(f"{exc.strerror}: {exc.filename}")
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            click.echo(f"error: {exc.strerror or exc}{where}", err=True)
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)

    return wrapper


def main_entry(command: click.Command) -> None:
    """Run a click command as ``python -m``: usage errors become one stderr line and exit code 2."""
    try:
        command.main(standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.format_message(), err=True)
        sys.exit(2)
    except click.UsageError as exc:
        fail(exc.format_message().splitlines()[0])
    except click.ClickException as exc:
        fail(exc.format_message().splitlines()[0])
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(1)
    sys.exit(0)

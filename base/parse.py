"""Reading option values the same way everywhere."""

from __future__ import annotations

from base.errors import InputError


def comma_list(value, flag: str, what: str) -> list[str]:
    """The non-empty items of a comma list given to ``flag``; InputError naming ``what`` it takes when none."""
    parts = [part.strip() for part in str(value).split(",") if part.strip()]
    if not parts:
        raise InputError(f"{flag} takes a comma list of {what}, got {value!r}")
    return parts


def comma_choices(value, flag: str, allowed, what: str) -> list[str]:
    """A comma list of names among ``allowed``, each kept once in the given order; InputError naming ``flag``,
    ``what`` it takes and the allowed names otherwise."""
    names = comma_list(value, flag, f"{what} among {', '.join(allowed)}")
    unknown = [name for name in names if name not in allowed]
    if unknown:
        raise InputError(f"{flag}: unknown {what} {', '.join(unknown)}; choose among {', '.join(allowed)}")
    return list(dict.fromkeys(names))


def exact_number(value: float) -> str:
    """The shortest text that reads back as exactly ``value``: ``%g`` when that is exact (``0.0625``, ``1``,
    ``1e-05``), else Python's round-trip repr (``0.3333334``, ``0.3333333333333333``), so two different
    numbers never share a name."""
    short = f"{value:g}"
    return short if float(short) == value else repr(float(value))

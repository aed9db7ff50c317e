"""The one exception type for bad input, shared by every package.

Anything a user can get wrong (a missing file, an empty corpus, a corrupt artifact, an option value that
makes no sense) raises :class:`InputError` with a one-line message. The command-line layer turns it into a
single line on stderr and exit code 2; any other exception is an internal error (exit code 1). Messages that
several layers give are written here once.
"""


class InputError(Exception):
    """Bad input or usage: the message is one line meant for the user."""


def other_settings_error(path, what: str, differences: str, elsewhere: str = "another --run-dir") -> InputError:
    """The one refusal to replace a finished artifact made with other settings: ``path`` holds ``what``
    (``a run``, ``a table``) whose settings differ as ``differences`` says; ``--fresh`` replaces it."""
    return InputError(f"{path} holds {what} with other settings ({differences}); pass --fresh to replace it, or "
                      f"use {elsewhere}")


"""The one exception type for bad input, shared by every package.

Anything a user can get wrong (a missing file, an empty corpus, a corrupt artifact, an option value that
makes no sense) raises :class:`InputError` with a one-line message. The command-line layer turns it into a
single line on stderr and exit code 2; any other exception is an internal error (exit code 1).
"""


class InputError(Exception):
    """Bad input or usage: the message is one line meant for the user."""

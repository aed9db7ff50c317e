"""Word-level tokenizer: words, numbers and punctuation as separate tokens.

Deterministic and reversible enough to read: ``detokenize(tokenize(text))`` gives back the text with its
original spacing around punctuation restored by simple rules (case is lost when lowercasing).
"""

from __future__ import annotations

import re
from typing import Iterable

# A word is a run of letters, optionally joined by apostrophes ("don't", "o'clock"); a number keeps its
# inner separators ("1,000.5", "4:00"); every other non-space character is a token of its own.
TOKEN_PATTERN = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*|\d+(?:[.,:]\d+)*|\S")

# Spacing rules for detokenize: no space before closing punctuation, none after opening punctuation.
# Hyphens, slashes and lone apostrophes hug both neighbours ("well-known", "and/or", "'tis").
_NO_SPACE_BEFORE = set(".,;:!?%)]}\u2019\u201d-/'")
_NO_SPACE_AFTER = set("([{$#\u2018\u201c-/'")

EOS_TOKEN = "<eos>"


def tokenize(text: str, lowercase: bool = True) -> list[str]:
    """Split ``text`` into word, number and punctuation tokens (lowercased unless asked not to)."""
    if lowercase:
        text = text.lower()
    return TOKEN_PATTERN.findall(text)


def detokenize(tokens: Iterable[str]) -> str:
    """Join tokens into readable text: punctuation hugs its word, ``<eos>`` starts a new paragraph."""
    out: list[str] = []
    no_space_next = True
    open_double_quote = False
    for token in tokens:
        if token == EOS_TOKEN:
            out.append("\n\n")
            no_space_next = True
            open_double_quote = False
            continue
        attach = no_space_next or token in _NO_SPACE_BEFORE
        if token == '"':
            # Straight double quotes alternate: an opening one hugs the next word, a closing one the last.
            attach = no_space_next or open_double_quote
            open_double_quote = not open_double_quote
            no_space_after = open_double_quote
        else:
            no_space_after = token in _NO_SPACE_AFTER
        out.append(token if attach else " " + token)
        no_space_next = no_space_after
    return "".join(out).strip()

"""Named datasets downloaded once into a cache: resumable, size-checked, sha256 recorded and verified.

A download goes to ``<name>.part``; an interrupted one resumes with an HTTP Range request (a server that
ignores Range sends the whole file again, and the partial bytes are dropped). Only a complete file of the
announced size is renamed into place, with its sha256 written beside it as ``<name>.sha256``; a later use
checks the file against it. ``W2V_GPT_MIRROR`` (a base URL) replaces the public host, for mirrors and tests.
"""

from __future__ import annotations

import http.client
import os
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from base.atomic import file_sha256
from base.errors import InputError

_BLOCK = 1 << 16


@dataclass(frozen=True)
class Dataset:
    """A public corpus: where it lives and how to read it once downloaded."""

    name: str
    url: str
    filename: str
    format: str        # a reader of corpus.sources: "text" or "text8"
    description: str


DATASETS = {
    "tinystories": Dataset(
        "tinystories", "https://huggingface.co/datasets/roneneldan/TinyStories/resolve/main/TinyStories-valid.txt",
        "TinyStories-valid.txt", "text",
        "TinyStories validation split (about 22k short stories, 19 MB), stories separated by <|endoftext|>"),
    "text8": Dataset(
        "text8", "http://mattmahoney.net/dc/text8.zip", "text8.zip", "text8",
        "text8: the first 100 MB of cleaned English Wikipedia, one line of lowercase words (31 MB zip)"),
}


def default_cache_dir() -> Path:
    """``$W2V_GPT_CACHE``, else ``$XDG_CACHE_HOME/w2v-gpt``, else ``~/.cache/w2v-gpt``."""
    if os.environ.get("W2V_GPT_CACHE"):
        return Path(os.environ["W2V_GPT_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "w2v-gpt"


def dataset_url(dataset: Dataset) -> str:
    mirror = os.environ.get("W2V_GPT_MIRROR")
    return mirror.rstrip("/") + "/" + dataset.filename if mirror else dataset.url


def fetch(dataset: Dataset, cache_dir: str | os.PathLike | None = None, progress: bool = False,
          retries: int = 3, timeout: float = 30.0) -> Path:
    """The dataset's file in the cache, downloading (or resuming) it first when needed."""
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / dataset.filename
    checksum = cache / (dataset.filename + ".sha256")
    if target.exists() and not checksum.exists():
        # Placed in the cache by hand (the offline workaround): adopt it, recording its sha256 from now on.
        checksum.write_text(f"{file_sha256(target)}  {target.name}\n", encoding="ascii")
        return target
    if target.exists() and checksum.exists():
        recorded = checksum.read_text(encoding="ascii").split()[0]
        if file_sha256(target) == recorded:
            return target
        # The cached file changed since it was recorded: download it again rather than trust it.
        target.unlink()
    url = dataset_url(dataset)
    download(url, target, progress=progress, retries=retries, timeout=timeout)
    return target


def download(url: str, target: Path, progress: bool = False, retries: int = 3, timeout: float = 30.0) -> str:
    """Download ``url`` to ``target`` (resuming ``target.part``); record and return its sha256."""
    part = target.with_name(target.name + ".part")
    last_error = None
    for _attempt in range(retries + 1):
        try:
            total = _download_once(url, part, progress, timeout)
            break
        except _Interrupted as exc:
            last_error = exc  # keep the .part file and resume from it
    else:
        raise InputError(f"download of {url} broke off {retries + 1} times ({last_error}); "
                         f"rerun to resume from {part.stat().st_size if part.exists() else 0} bytes")
    size = part.stat().st_size
    if total is not None and size != total:
        raise InputError(f"download of {url} gave {size} bytes, the server announced {total}; rerun to resume")
    digest = file_sha256(part)
    checksum = target.with_name(target.name + ".sha256")
    checksum.write_text(f"{digest}  {target.name}\n", encoding="ascii")
    os.replace(part, target)
    return digest


class _Interrupted(Exception):
    """The connection broke off mid-transfer; the partial file stays for a resume."""


def _download_once(url: str, part: Path, progress: bool, timeout: float) -> int | None:
    """One request, resuming from ``part``'s size; returns the full size the server announced."""
    from tqdm import tqdm

    have = part.stat().st_size if part.exists() else 0
    request = urllib.request.Request(url, headers={"User-Agent": "w2v-gpt"})
    if have:
        request.add_header("Range", f"bytes={have}-")
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and have:  # nothing left to fetch: the partial file is already whole
            return have
        raise InputError(f"cannot download {url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise InputError(f"cannot download {url}: {reason} (offline? put the file in the cache by hand "
                         "or set W2V_GPT_MIRROR)") from None
    with response:
        resumed = response.status == 206
        if not resumed:
            have = 0
        length = response.headers.get("Content-Length")
        total = have + int(length) if length is not None else None
        mode = "ab" if resumed else "wb"
        with open(part, mode) as handle, tqdm(total=total, initial=have, unit="B", unit_scale=True,
                                               disable=not progress, desc=part.name[:-5], leave=False) as bar:
            try:
                while True:
                    block = response.read(_BLOCK)
                    if not block:
                        break
                    handle.write(block)
                    bar.update(len(block))
            except (ConnectionError, socket.timeout, OSError, http.client.HTTPException) as exc:
                raise _Interrupted(str(exc)) from None
    size = part.stat().st_size
    if total is not None and size < total:
        raise _Interrupted(f"connection closed after {size} of {total} bytes")
    return total

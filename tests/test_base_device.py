"""base.device: what --device auto|cpu|cuda resolves to, with torch's CUDA answer forced either way."""

import pytest
import torch

from base.device import DEVICES, resolve_device
from base.errors import InputError


def test_the_three_names():
    assert DEVICES == ("auto", "cpu", "cuda")


@pytest.mark.parametrize("name, cuda, expected", [
    ("auto", True, "cuda"), ("auto", False, "cpu"),
    ("cpu", True, "cpu"), ("cpu", False, "cpu"),
    ("cuda", True, "cuda"),
])
def test_resolve_device(monkeypatch, name, cuda, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    assert resolve_device(name) == expected


def test_cuda_without_a_device_is_bad_input(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(InputError, match="--device cuda was asked for, but torch sees no CUDA device"):
        resolve_device("cuda")


@pytest.mark.parametrize("name", ["gpu", "CUDA", "cuda:0", "", "Auto"])
def test_other_names_are_bad_input_naming_the_choices(monkeypatch, name):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    with pytest.raises(InputError) as caught:
        resolve_device(name)
    assert str(caught.value) == f"--device must be one of auto|cpu|cuda, not {name!r}"
    assert "\n" not in str(caught.value)  # one line for the user


def test_auto_follows_the_real_torch():
    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert torch.device(resolve_device("auto")).type in ("cpu", "cuda")  # a device string torch accepts

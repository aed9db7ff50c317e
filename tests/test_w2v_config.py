"""Word2VecConfig: defaults per method, enums, JSON round trip, and one-line errors for bad values."""

from __future__ import annotations

import json
import math

import pytest

from base.errors import InputError
from w2v.config import Backend, Device, ExportVectors, Method, NoiseSharing, Word2VecConfig


def test_defaults_follow_word2vec_and_the_project():
    sg, cbow = Word2VecConfig(), Word2VecConfig(method="cbow")
    assert sg.method is Method.SKIPGRAM and cbow.method is Method.CBOW
    assert (sg.alpha, cbow.alpha) == (0.025, 0.05)
    assert (sg.dim, sg.window, sg.negative, sg.sample, sg.epochs) == (128, 5, 5, 1e-3, 5)
    assert sg.export_vectors is ExportVectors.IN and sg.noise is NoiseSharing.PAIR
    assert sg.device is Device.CPU and sg.backend is Backend.AUTO
    assert Word2VecConfig(method="cbow", alpha=0.01).alpha == 0.01


def test_round_trip_through_json_keeps_enums_as_strings():
    config = Word2VecConfig(method="cbow", dim=32, export_vectors="sum", noise="window", threads=2, seed=7)
    data = json.loads(json.dumps(config.to_dict()))
    assert data["method"] == "cbow" and data["export_vectors"] == "sum" and data["noise"] == "window"
    assert data["alpha"] == 0.05  # the value used, not None
    assert Word2VecConfig.from_dict(data) == config
    assert "threads" not in config.resume_key() and "export_vectors" not in config.resume_key()


@pytest.mark.parametrize("field, value", [
    ("method", "glove"), ("method", 1), ("export_vectors", "both"), ("noise", "batch"), ("device", "tpu"),
    ("backend", "jax"), ("dim", 0), ("dim", 2.5), ("window", -1), ("negative", 0), ("epochs", True),
    ("threads", 0), ("sample", -1e-3), ("sample", math.nan), ("alpha", 0.0), ("alpha", math.inf),
    ("min_alpha", -1.0), ("seed", -1), ("max_sentence", 0), ("batch_size", 0), ("window", 5000),
])
def test_bad_values_are_one_line_input_errors(field, value):
    with pytest.raises(InputError) as info:
        Word2VecConfig(**{field: value})
    assert field in str(info.value) and "\n" not in str(info.value)


def test_min_alpha_above_alpha_and_unknown_fields_are_refused():
    with pytest.raises(InputError, match="min_alpha"):
        Word2VecConfig(alpha=0.001, min_alpha=0.01)
    with pytest.raises(InputError, match="unknown word2vec config field"):
        Word2VecConfig.from_dict({"method": "cbow", "hs": 1})

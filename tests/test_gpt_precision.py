"""``--precision bf16``: the chunked head against fp32 autograd within bf16's rounding, a training curve
against fp32's at the same seed, and the record that keeps a bf16 run apart from an fp32 one."""

from __future__ import annotations

import csv

import pytest
import torch
import torch.nn.functional as F

import gpt.loss
from conftest import train_run
from gpt.config import GPTConfig, config_flags, resolve_precision
from gpt.loss import linear_cross_entropy
from gpt.runs import RunFiles
from gpt.model import GPT
from gpt.train import Stepper, make_optimizer
from study.stats import DEFAULT_MARGIN

U = 2.0 ** -8  # bf16's unit roundoff: 8 significant bits


@pytest.mark.parametrize("chunk_elements", [4096, 1 << 22])
def test_the_bf16_head_is_fp32_autograd_within_bf16_rounding(monkeypatch, chunk_elements):
    monkeypatch.setattr(gpt.loss, "CHUNK_ELEMENTS_BF16", chunk_elements)  # 4096: several chunks of 8 rows
    torch.manual_seed(0)
    h = torch.randn(300, 32, requires_grad=True)
    w = (torch.randn(500, 32) * 0.3).requires_grad_()
    t = torch.randint(0, 500, (300,))
    ours = linear_cross_entropy(h, w, t, bf16=True)
    grad_h, grad_w = torch.autograd.grad(ours, (h, w))
    reference = F.cross_entropy(F.linear(h, w), t)
    ref_h, ref_w = torch.autograd.grad(reference, (h, w))
    # a logit sums C products of operands each rounded by at most U (2U a product), then is rounded once
    # (U): |error| <= 2U sum_c |h_c w_c| + U |logit|; the loss, logsumexp minus the target's logit, moves
    # by at most twice the largest logit error
    with torch.no_grad():
        logits = h @ w.t()
        bound = 2 * (2 * U * (h.abs() @ w.abs().t()).max() + U * logits.abs().max())
    difference = abs(ours.item() - reference.item())
    assert 0 < difference <= bound.item()  # nonzero: the products did run in bf16
    # gradients: products of bf16-rounded probabilities and operands, summed in fp32: a few U relative
    for ours_grad, ref in ((grad_h, ref_h), (grad_w, ref_w)):
        assert ((ours_grad - ref).norm() / ref.norm()).item() <= 4 * U


def test_a_bf16_step_keeps_fp32_weights_gradients_and_optimizer_state():
    config = GPTConfig(d_model=16, n_layer=1, n_head=2, context=8, batch_size=2, precision="bf16")
    model = GPT(config, vocab_size=40)
    model.init_weights()
    optimizer = make_optimizer(model, config)
    x, y = torch.randint(0, 40, (2, 8)), torch.randint(0, 40, (2, 8))
    loss = Stepper(model, optimizer).step(x, y, 1e-3, 1.0)
    assert loss > 0
    assert all(p.dtype == torch.float32 and p.grad.dtype == torch.float32 for p in model.parameters())
    states = [s for s in optimizer.state.values()]
    assert states and all(s["exp_avg"].dtype == torch.float32 for s in states)


def _val_curve(run_dir, config, variant):
    train_run(run_dir, config, variant=variant)
    with open(RunFiles.of(run_dir, variant, config.seed).curve, encoding="utf-8") as handle:
        return [float(row["val_loss"]) for row in csv.DictReader(handle)]


def test_a_bf16_run_follows_the_fp32_run_of_its_seed_within_half_the_equivalence_margin(run_dir):
    # 300 steps on the Lee corpus. Tolerance: half the study's equivalence margin (0.02 nats/token). Every
    # arm of a study runs at one precision, so an arm's curve moving by under half the margin cannot move a
    # difference between two arms by the margin: a verdict cannot be made by the precision alone. The
    # rounding is also smaller than the randomness a study already averages over: at the end the two
    # precisions of one seed differ less than two seeds of one precision.
    base = GPTConfig(d_model=32, n_layer=2, n_head=2, context=32, batch_size=8, tokens=300 * 256, evals=6,
                     eval_windows=32)
    fp32 = _val_curve(run_dir, base, "fp32")
    bf16 = _val_curve(run_dir, base.replace(precision="bf16"), "bf16")
    other_seed = _val_curve(run_dir, base.replace(seed=1), "fp32-seed1")
    assert len(fp32) == len(bf16) == 7 and fp32[-1] < fp32[0] - 2.0  # it learned
    assert max(abs(a - b) for a, b in zip(fp32, bf16)) <= DEFAULT_MARGIN / 2
    assert abs(fp32[-1] - bf16[-1]) < abs(fp32[-1] - other_seed[-1])
    assert fp32 != bf16  # the products did run in bf16


def test_auto_is_bf16_on_cuda_and_on_a_cpu_measured_faster_in_it_and_only_bf16_is_recorded():
    assert resolve_precision("auto", "cuda:0") == resolve_precision(None, "cuda", units=[]) == "bf16"
    # on a CPU: bf16 where its matrix units are AVX512-BF16 alone (AMD EPYC, measured faster end to end);
    # fp32 without bf16 units (emulated) and with AMX (not yet measured with this bf16 path)
    assert resolve_precision("auto", "cpu", units=["avx512_bf16"]) == "bf16"
    assert resolve_precision("auto", "cpu", units=[]) == "fp32"
    assert resolve_precision(None, "cpu", units=["avx512_bf16", "amx_bf16"]) == "fp32"
    assert resolve_precision("fp32", "cpu", units=["avx512_bf16"]) == "fp32"
    assert resolve_precision("bf16", "cpu", units=[]) == "bf16"
    fp32, bf16 = GPTConfig(), GPTConfig(precision="bf16")
    # an fp32 run's record is as before the field existed, so its finished runs are still found
    assert "precision" not in fp32.to_dict() and bf16.to_dict()["precision"] == "bf16"
    assert GPTConfig.from_dict(bf16.to_dict()) == bf16
    # a command line names it always: train_gpt's auto would pick by the machine that runs the command
    assert config_flags(fp32)[-2:] == ["--precision", "fp32"] and config_flags(bf16)[-2:] == ["--precision", "bf16"]


def test_the_bf16_units_are_read_from_the_cpu_flags(tmp_path):
    from base.cores import bf16_units

    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nmodel name\t: AMD EPYC 9R14\nflags\t\t: fpu sse2 avx512f avx512_bf16 avx512_vnni\n"
                    "\nprocessor\t: 1\nflags\t\t: fpu sse2 avx512f avx512_bf16 avx512_vnni\n")
    assert bf16_units(info) == ["avx512_bf16"]
    info.write_text("flags\t\t: fpu avx512_bf16 amx_bf16 amx_tile amx_int8\n")
    assert bf16_units(info) == ["avx512_bf16", "amx_bf16"]
    info.write_text("flags\t\t: fpu sse2 avx2\n")
    assert bf16_units(info) == [] and bf16_units(tmp_path / "absent") == []


def test_a_study_records_one_precision_for_every_arm(monkeypatch):
    import gpt.config
    from pipelines.options import study_settings

    options = {"seeds": 1, "dim": 16, "x_max": None, "device": "cpu", "fresh": False, "jobs": 1,
               "threads_per_run": None, "margin": 0.02, "quiet": True, "precision": "bf16"}
    settings = study_settings("runs/x", dict(options))
    assert settings.base.precision == "bf16"
    for units, auto in (([], "fp32"), (["avx512_bf16"], "bf16")):  # auto on a CPU: by its bf16 units
        monkeypatch.setattr(gpt.config, "bf16_units", lambda: units)
        assert study_settings("runs/x", dict(options, precision=None)).base.precision == auto


def test_a_run_begun_in_another_precision_is_refused_with_the_flag_that_continues_it(run_dir):
    from conftest import assert_one_line_error, run_cli

    tiny = GPTConfig(d_model=16, n_layer=1, n_head=2, context=16, batch_size=4, tokens=512, evals=2)
    assert train_run(run_dir, tiny, variant="learned", stop_after=2) is None  # begun in fp32, a checkpoint
    args = ["--run-dir", str(run_dir), "--d-model", "16", "--layers", "1", "--heads", "2", "--context", "16",
            "--batch-size", "4", "--tokens", "512", "--evals", "2", "--quiet"]
    refused = run_cli("pipelines.train_gpt", *args, "--precision", "bf16")
    assert_one_line_error(refused)
    assert "precision 'fp32' there, 'bf16' asked: --precision fp32 continues it" in refused.stderr
    assert run_cli("pipelines.train_gpt", *args, "--precision", "fp32").returncode == 0


def test_a_step_model_without_a_truth_value_is_used_as_a_compiled_model_is():
    # torch.compile's module raises on len() (so on bool()): the stepper must not test its truth
    class Compiled:
        def __init__(self, model):
            self.model, self.calls = model, 0

        def __call__(self, x, y):
            self.calls += 1
            return self.model(x, y)

        def __len__(self):
            raise TypeError("GPT does not support len()")

    config = GPTConfig(d_model=16, n_layer=1, n_head=2, context=8, batch_size=2)
    model = GPT(config, vocab_size=40)
    model.init_weights()
    compiled = Compiled(model)
    stepper = Stepper(model, make_optimizer(model, config), step_model=compiled)
    stepper.step(torch.randint(0, 40, (2, 8)), torch.randint(0, 40, (2, 8)), 1e-3, 1.0)
    assert compiled.calls == 1

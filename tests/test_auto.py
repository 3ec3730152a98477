"""precision="auto": the rule, what it says when it falls back, and bf16 on any CPU."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap

import pytest
import torch

import anyner
from anyner.runtime import auto
from anyner.runtime.cpu import parse_cpuinfo

TEXT = "Bill Gates founded Microsoft in Albuquerque on April 4, 1975."
LABELS = ["person", "organization", "date", "location"]
AVX2_ONLY = parse_cpuinfo("model name\t: AVX2 laptop\nflags\t\t: fpu sse avx avx2 fma\n")
AVX512_BF16 = parse_cpuinfo(
    "model name\t: AVX-512 server\nflags\t\t: avx2 fma avx512f avx512_bf16 avx512_vnni\n"
)


@pytest.fixture
def cpu(monkeypatch):
    """Pretend to run on another CPU: cpu(AVX2_ONLY)."""

    def use(info):
        for module in ("anyner.runtime.auto", "anyner.api"):
            monkeypatch.setattr(f"{module}.cpu_info", lambda: info)

    return use


@pytest.fixture
def notes(caplog):
    """The lines auto says, each said once per process: forget what was said before."""
    auto._note.cache_clear()
    caplog.set_level(logging.WARNING, logger="anyner")
    yield lambda: [r.getMessage() for r in caplog.records if r.name == "anyner"]
    auto._note.cache_clear()


@pytest.fixture(scope="module")
def folder(span_model, tmp_path_factory):
    path = tmp_path_factory.mktemp("auto") / "model"
    span_model.save(path)
    return path


def test_parse_cpuinfo_features():
    assert (AVX2_ONLY.native_bf16, AVX2_ONLY.int8_dot) == (False, False)
    assert AVX2_ONLY.feature_names() == ["AVX2", "FMA"]
    assert (AVX512_BF16.native_bf16, AVX512_BF16.int8_dot) == (True, True)


@pytest.mark.parametrize("info", [AVX2_ONLY, AVX512_BF16], ids=["avx2", "avx512-bf16"])
def test_auto_runs_fp32_on_onnxruntime_on_any_cpu(cpu, monkeypatch, info):
    cpu(info)
    monkeypatch.setattr(auto, "missing_onnx_packages", lambda: [])
    choice = auto.choose()
    assert (choice.precision, choice.runtime) == ("fp32", "onnx")
    in_code = auto.choose(auto.IN_CODE)
    assert (in_code.precision, in_code.runtime) == ("fp32", "torch")


@pytest.mark.parametrize("info", [AVX2_ONLY, AVX512_BF16], ids=["avx2", "avx512-bf16"])
def test_auto_without_onnxruntime_runs_fp32_torch_and_says_so_once(cpu, monkeypatch, notes, folder, info):
    cpu(info)
    monkeypatch.setattr(auto, "missing_onnx_packages", lambda: ["onnxruntime"])
    first = anyner.load(folder)
    anyner.load(folder)
    assert (first.precision, first.runtime) == ("fp32", "torch")
    [line] = notes()
    assert "onnxruntime not installed" in line and "pip install 'anyner[onnx]'" in line
    assert ("precision='bf16'" in line) == info.native_bf16  # bf16 is offered only where it is fast
    assert first.reason in line


def test_auto_on_a_folder_exports_once_and_equals_fp32_torch(folder, notes):
    if auto.missing_onnx_packages():
        pytest.skip("onnxruntime and onnx are not installed")
    ner = anyner.load(folder)
    assert (ner.precision, ner.runtime) == ("fp32", "onnx") and "onnxruntime" in ner.reason
    torch_ner = anyner.load(folder, runtime="torch")
    got, want = (
        [(e["start"], e["end"], e["label"]) for e in m.predict_entities(TEXT, LABELS, 0.0)]
        for m in (ner, torch_ner)
    )
    assert got == want
    assert notes() == []


def test_changed_weights_leave_the_stale_export_for_torch(folder, notes):
    if auto.missing_onnx_packages():
        pytest.skip("onnxruntime and onnx are not installed")
    ner = anyner.load(folder)
    with torch.no_grad():  # as a training step would
        ner.model.head.type_proj[0].weight.mul_(3.0)
    got = ner.predict_entities(TEXT, LABELS, 0.0)
    assert (ner.precision, ner.runtime) == ("fp32", "torch")
    assert any("torch weights changed" in line for line in notes())
    fresh = anyner.AnyNER(ner.model, ner.tokenizer)  # the changed weights, on torch
    assert got == fresh.predict_entities(TEXT, LABELS, 0.0)


def test_a_failed_export_falls_back_for_auto_and_fails_when_asked_for(folder, monkeypatch, notes):
    def broken(ner, precision):
        raise PermissionError(13, "Permission denied", "/cache/onnx")

    monkeypatch.setattr(auto, "missing_onnx_packages", lambda: [])
    monkeypatch.setattr("anyner.runtime.export.cached_export", broken)
    ner = anyner.load(folder)
    assert (ner.precision, ner.runtime) == ("fp32", "torch")
    assert "the ONNX export failed" in ner.reason and len(notes()) == 1
    with pytest.raises(PermissionError):
        anyner.load(folder, runtime="onnx")


def test_bf16_without_native_bf16_runs_and_says_it_is_emulated(cpu, notes, token_model):
    cpu(AVX2_ONLY)
    ner = anyner.AnyNER(token_model.model, token_model.tokenizer, precision="bf16")
    assert (ner.precision, ner.runtime) == ("bf16", "torch")
    assert ner.predict_entities(TEXT, LABELS, 0.0)
    [line] = notes()
    assert "without native bf16 (AVX512-BF16 or AMX-BF16)" in line and "precision='auto'" in line


def test_auto_never_picks_bf16(cpu, monkeypatch):
    cpu(AVX512_BF16)
    for missing in ([], ["onnx"]):
        monkeypatch.setattr(auto, "missing_onnx_packages", lambda missing=missing: missing)
        assert auto.choose().precision == "fp32"  # bf16 changes entities near the threshold


def test_bilstm_runs_under_bf16_autocast_on_avx2_kernels():
    """oneDNN limited to AVX2 (as on a CPU without AVX-512): its bf16 LSTM refuses plain and
    equal-length packed batches; the BiLSTM keeps the LSTM in fp32 inside the autocast region."""
    code = textwrap.dedent(
        """
        import torch
        from anyner.model.layers import BiLSTM

        lstm = BiLSTM(32, 1).eval()
        x = torch.randn(2, 5, 32)
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            y = lstm(x, torch.tensor([5, 5]))
        assert y.shape == (2, 5, 32) and y.dtype == torch.float32, (y.shape, y.dtype)
        print("ok")
        """
    )
    env = {**os.environ, "ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]


def test_load_prints_no_progress_bar(tiny_backbone, capfd):
    from anyner.backbones import load_backbone

    load_backbone(str(tiny_backbone))
    assert "Loading weights" not in capfd.readouterr().err

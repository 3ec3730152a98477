"""ONNX export and the onnxruntime runner: the same entities as torch, without torch."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import assert_user_error
from typer.testing import CliRunner

import anyner
from anyner import AnyNER, CheckpointError, InputError
from anyner.cli import app
from anyner.config import ModelConfig
from anyner.text.labels import parse_labels
from anyner.text.words import split_words
from anyner.variants import get_variant

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

REPO = Path(__file__).resolve().parents[1]
TEXT = "Bill Gates founded Microsoft in Albuquerque on April 4, 1975."
LABELS = ["person", "organization", "date", "location"]
# words the tiny vocabulary knows whole, in a random order (repeats would score alike: near-ties)
VOCAB = "bill gates founded microsoft in albuquerque on april new york city is big the a of and".split()
LONG = " ".join(np.random.default_rng(0).choice(VOCAB, 120))  # several windows of at most 32 words
MANY = [f"type {i}" for i in range(60)]  # several label groups


@pytest.fixture(scope="module", autouse=True)
def cache(tmp_path_factory):
    """Exports made for runtime='onnx' go to a folder of this test module."""
    folder = tmp_path_factory.mktemp("anyner-cache")
    patch = pytest.MonkeyPatch()
    patch.setenv("ANYNER_CACHE", str(folder))
    yield folder
    patch.undo()


def spread(model: AnyNER) -> AnyNER:
    """A copy with short windows whose scores spread over (0, 1): a random tiny head puts every
    score near 0.5, where rounding in the last float bits would reorder near-ties."""
    config = ModelConfig(**{**model.config.to_dict(), "max_words": 32, "window_overlap": 8})
    net = get_variant(config.variant).build_model(config, copy.deepcopy(model.model.encoder.model))
    net.load_state_dict(model.model.state_dict())
    last = net.head.out[3] if hasattr(net.head, "out") else net.head.out_mlp[3]
    with torch.no_grad():
        last.weight.mul_(40.0)
        last.bias.mul_(40.0)
    return AnyNER(net.eval(), model.tokenizer)


@pytest.fixture(scope="module")
def models(span_model, token_model, tmp_path_factory):
    """(torch model, its fp32 export folder) per architecture."""
    out = {}
    for name, model in (("span", span_model), ("token", token_model)):
        torch_model = spread(model)
        out[name] = (torch_model, torch_model.export_onnx(tmp_path_factory.mktemp(f"{name}-onnx")))
    return out


def _threshold(model: AnyNER, texts: list[str], labels: list[str]) -> float:
    """About a fifth of the candidate spans pass it, and no score lies close to it."""
    found = model.batch_predict_entities(texts, labels, threshold=0.0, flat_ner=False, multi_label=True)
    scores = np.unique([e["score"] for entities in found for e in entities])
    near = scores[(scores > np.quantile(scores, 0.75)) & (scores < np.quantile(scores, 0.85))]
    widest = int(np.argmax(np.diff(near)))
    return float(near[widest] + near[widest + 1]) / 2


def _keys(entities):
    return [(e["start"], e["end"], e["label"]) for e in entities]


def _same(a: list[list[dict]], b: list[list[dict]], tolerance: float = 1e-5) -> None:
    for x, y in zip(a, b, strict=True):
        assert _keys(x) == _keys(y)
        assert all(abs(e["score"] - f["score"]) <= tolerance for e, f in zip(x, y, strict=True))


@pytest.mark.parametrize("arch", ["span", "token"])
def test_onnx_gives_the_entities_of_torch(models, arch):
    torch_model, folder = models[arch]
    ort_model = anyner.load(folder)
    assert (ort_model.precision, ort_model.runtime, ort_model.model) == ("fp32", "onnx", None)
    passes = ort_model.pipeline.plan(0, split_words(LONG), parse_labels(MANY))
    assert len({p.window for p in passes}) > 2 and len({tuple(p.labels) for p in passes}) > 1
    texts = [TEXT, LONG, "", "New York City is big.", "a"]
    for labels, options in (
        (LABELS, {}),
        (MANY, {}),
        (LABELS, {"flat_ner": False, "multi_label": True}),
    ):
        threshold = _threshold(torch_model, texts, labels)
        want = torch_model.batch_predict_entities(texts, labels, threshold, **options)
        got = ort_model.batch_predict_entities(texts, labels, threshold, **options)
        assert sum(map(len, want)) > 5  # the spread scores cross the threshold often enough
        _same(got, want)


def test_exported_folder_runs_without_torch(models):
    torch_model, folder = models["span"]
    texts = [TEXT, LONG, "New York City is big."]
    threshold = _threshold(torch_model, texts, LABELS)
    script = """
import json, sys

class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("torch", "transformers", "safetensors"):
            raise ImportError("blocked for this test: " + name)

sys.meta_path.insert(0, NoTorch())
import anyner

model = anyner.load(sys.argv[1])
found = model.batch_predict_entities(json.loads(sys.argv[2]), json.loads(sys.argv[3]), float(sys.argv[4]))
loaded = sorted({m.split(".")[0] for m in sys.modules} & {"torch", "transformers", "safetensors"})
print(json.dumps({"entities": found, "loaded": loaded}))
"""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [sys.executable, "-c", script, str(folder), json.dumps(texts), json.dumps(LABELS), str(threshold)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["loaded"] == []
    want = torch_model.batch_predict_entities(texts, LABELS, threshold)
    assert sum(map(len, want)) > 3
    _same(out["entities"], want)


def test_runtime_onnx_exports_once_into_the_cache(models, cache, monkeypatch):
    torch_model = models["span"][0]
    first = AnyNER(torch_model.model, torch_model.tokenizer, runtime="onnx")
    exported = sorted((cache / "onnx").iterdir())
    assert len(exported) == 1 and exported[0].name.endswith("-fp32")

    def no_export(*args, **kwargs):
        raise AssertionError("exported again")

    monkeypatch.setattr("anyner.runtime.export.export_onnx", no_export)
    again = AnyNER(torch_model.model, torch_model.tokenizer, runtime="onnx")
    _same(again.batch_predict_entities([TEXT], LABELS), first.batch_predict_entities([TEXT], LABELS))
    _same(first.batch_predict_entities([TEXT], LABELS), torch_model.batch_predict_entities([TEXT], LABELS))
    monkeypatch.undo()

    changed = copy.deepcopy(torch_model.model)
    with torch.no_grad():
        changed.head.type_proj[0].weight.add_(0.01)
    AnyNER(changed, torch_model.tokenizer, runtime="onnx")  # other weights: another export
    assert len(list((cache / "onnx").iterdir())) == 2


def test_int8_export_is_quantised_and_close(models, tmp_path):
    """Dynamic quantisation rounds each matmul input to 8 bits of its own range (steps of 1/255
    of it), so the error on a logit grows with the range of the logits, not with any one
    machine's kernels (VNNI, or AVX2 with its saturating 16-bit sums): through the dozen
    quantised matmuls in series here, allow 10% of the fp32 logits' range. A candidate further
    than that from the threshold keeps its decision, whatever the CPU."""
    torch_model, fp32_folder = models["span"]
    folder = torch_model.export_onnx(tmp_path / "int8", precision="int8")
    ops = {node.op_type for node in onnx.load(str(folder / "model.onnx")).graph.node}
    assert {"DynamicQuantizeLinear", "MatMulInteger"} & ops or "DynamicQuantizeMatMul" in ops
    int8 = anyner.load(folder)
    assert (int8.precision, int8.runtime) == ("int8", "onnx")
    fp32 = anyner.load(fp32_folder)
    want, got = (_logits(m, LONG, LABELS) for m in (fp32, int8))
    margin = 0.1 * float(want.max() - want.min())
    clear = np.abs(want) > margin  # threshold 0.5 is logit 0
    assert clear.mean() > 0.5  # most candidates are clear of it: the check below says something
    assert np.array_equal(got[clear] > 0, want[clear] > 0)
    assert int8.predict_entities(TEXT, LABELS, threshold=0.0)  # and it decodes


def _logits(model: AnyNER, text: str, labels: list[str]) -> np.ndarray:
    """Every candidate's logit (span × type), in one batch of the text's windows."""
    from anyner.runtime.batching import collate

    predictor = model.pipeline
    passes = predictor.plan(0, split_words(text), parse_labels(labels))
    with predictor.runner.session() as run:
        return _logit(run(collate([p.inputs for p in passes], predictor.pad_id)))


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-12, 1 - 1e-12)
    return np.log(p) - np.log1p(-p)


def test_int8_from_a_weights_folder(models, tmp_path):
    torch_model = models["token"][0]
    torch_model.save(tmp_path / "m")
    model = anyner.load(tmp_path / "m", precision="int8")
    assert (model.precision, model.runtime) == ("int8", "onnx")
    got = model.predict_entities(TEXT, LABELS, threshold=0.0)
    assert got and all(TEXT[e["start"] : e["end"]] == e["text"] for e in got)


@pytest.mark.parametrize(
    "options,match",
    [
        ({"precision": "bf16"}, "ONNX export in fp32"),
        ({"runtime": "torch"}, "ONNX export in fp32"),
        ({"precision": "int8"}, "ONNX export in fp32"),
    ],
)
def test_an_export_runs_only_as_exported(models, options, match):
    with pytest.raises(InputError, match=match):
        anyner.load(models["span"][1], **options)


def test_an_export_cannot_be_saved_or_exported_again(models, tmp_path):
    model = anyner.load(models["span"][1])
    with pytest.raises(InputError, match="copy its folder"):
        model.save(tmp_path / "again")
    with pytest.raises(InputError, match="copy its folder"):
        model.export_onnx(tmp_path / "again")
    with pytest.raises(InputError, match="'fp32' or 'int8'"):
        models["span"][0].export_onnx(tmp_path / "x", precision="bf16")


def test_export_replaces_only_an_export_or_an_empty_folder(models, tmp_path):
    torch_model = models["span"][0]
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(InputError, match="not an ONNX export"):
        torch_model.export_onnx(tmp_path / "mine")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    (tmp_path / "empty").mkdir()
    for _ in range(2):  # an empty folder, then the export it now holds
        assert anyner.load(torch_model.export_onnx(tmp_path / "empty")).runtime == "onnx"


def test_broken_exports_are_checkpoint_errors(models, tmp_path):
    import shutil

    folder = tmp_path / "broken"
    shutil.copytree(models["span"][1], folder)
    (folder / "model.onnx").write_bytes(b"not a graph")
    with pytest.raises(CheckpointError, match="onnxruntime cannot load"):
        anyner.load(folder)
    (folder / "model.onnx").unlink()
    with pytest.raises(CheckpointError, match=r"without model\.onnx"):
        anyner.load(folder)
    config = json.loads((folder / "anyner_config.json").read_text())
    config["onnx"]["colour"] = "red"
    (folder / "anyner_config.json").write_text(json.dumps(config))
    with pytest.raises(CheckpointError, match="invalid 'onnx' entry"):
        anyner.load(folder)


def test_cli_export_onnx(models, tmp_path):
    torch_model = models["token"][0]
    torch_model.save(tmp_path / "m")
    out = tmp_path / "exported"
    runner = CliRunner()
    result = runner.invoke(app, ["export-onnx", str(tmp_path / "m"), str(out), "--precision", "int8"])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(out)
    assert sorted(p.name for p in out.iterdir()) >= ["anyner_config.json", "model.onnx", "tokenizer.json"]
    assert anyner.load(out).precision == "int8"
    assert (
        runner.invoke(app, ["export-onnx", str(tmp_path / "m"), str(out), "--precision", "fp16"]).exit_code
        == 2
    )
    missing = runner.invoke(app, ["export-onnx", str(tmp_path / "none"), str(out)])
    assert_user_error(missing, "does not exist")

"""Checkpoints saved by the public gliner library load strictly and predict what gliner predicted."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

import anyner
from anyner.errors import CheckpointError, InputError
from anyner.text.labels import LabelVectors, parse_labels
from anyner.text.words import split_words

# made with gliner 0.2.29 by benchmarks/make_poly_fixture.py: a bi-encoder with post-fusion
POLY = Path(__file__).parent / "fixtures" / "gliner" / "poly_span_tiny"


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
@pytest.mark.parametrize(
    "name", ["span_tiny", "token_tiny", "bi_span_tiny", "bi_token_tiny", "poly_span_tiny"]
)
def test_reproduces_gliner_predictions(name, runtime, gliner_fixtures):
    folder = POLY if name == "poly_span_tiny" else gliner_fixtures / name
    model = anyner.load(folder, runtime=runtime)
    reference = json.loads((folder / "reference.json").read_text())
    assert reference["cases"]
    for case in reference["cases"]:
        got = model.batch_predict_entities(
            case["texts"],
            case["labels"],
            threshold=case["threshold"],
            flat_ner=case["flat_ner"],
            multi_label=case["multi_label"],
        )
        for text, ours, theirs in zip(case["texts"], got, case["entities"], strict=True):
            assert [(e["start"], e["end"], e["label"], e["text"]) for e in ours] == [
                (e["start"], e["end"], e["label"], e["text"]) for e in theirs
            ], (name, case["flat_ner"], case["multi_label"], text)
            for a, b in zip(ours, theirs, strict=True):
                assert abs(a["score"] - b["score"]) < 1e-4


def _copy(fixtures, name, tmp_path):
    dst = tmp_path / name
    shutil.copytree(fixtures / name, dst)
    dst.chmod(0o755)
    for f in dst.iterdir():
        f.chmod(0o644)
    return dst


def test_missing_weight_is_named(tmp_path, gliner_fixtures):
    folder = _copy(gliner_fixtures, "span_tiny", tmp_path)
    state = torch.load(folder / "pytorch_model.bin", weights_only=True)
    del state["prompt_rep_layer.0.weight"]
    torch.save(state, folder / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match=r"missing weight\(s\) head\.type_proj\.0\.weight"):
        anyner.load(folder)


def test_unknown_gliner_weight_is_named(tmp_path, gliner_fixtures):
    folder = _copy(gliner_fixtures, "token_tiny", tmp_path)
    state = torch.load(folder / "pytorch_model.bin", weights_only=True)
    state["some_new_layer.weight"] = torch.zeros(2)
    torch.save(state, folder / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match=r"some_new_layer\.weight"):
        anyner.load(folder)


def test_weight_of_other_architecture_is_unexpected(tmp_path, gliner_fixtures):
    folder = _copy(gliner_fixtures, "span_tiny", tmp_path)
    state = torch.load(folder / "pytorch_model.bin", weights_only=True)
    state["scorer.proj_token.weight"] = torch.zeros(64, 32)
    torch.save(state, folder / "pytorch_model.bin")
    with pytest.raises(CheckpointError, match=r"unexpected weight\(s\) head\.proj_token\.weight"):
        anyner.load(folder)


def test_corrupt_weights_file(tmp_path, gliner_fixtures):
    folder = _copy(gliner_fixtures, "span_tiny", tmp_path)
    data = (folder / "pytorch_model.bin").read_bytes()
    (folder / "pytorch_model.bin").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cannot read weights"):
        anyner.load(folder)


def test_unsupported_gliner_variant(tmp_path, gliner_fixtures):
    folder = _copy(gliner_fixtures, "span_tiny", tmp_path)
    cfg = json.loads((folder / "gliner_config.json").read_text())
    cfg["span_mode"] = "markerV1"
    (folder / "gliner_config.json").write_text(json.dumps(cfg))
    with pytest.raises(CheckpointError, match="span_mode 'markerV1'"):
        anyner.load(folder)


def test_tokenizing_each_element_matches_the_hf_call(gliner_fixtures):
    folder = gliner_fixtures / "span_tiny"
    model = anyner.load(folder)
    words = split_words("Zürich, São Paulo — naïve café; \u200b x").words
    prompt = ["<<ENT>>", "person", "<<ENT>>", "drug dosage", "<<SEP>>"]
    expected = model.tokenizer(prompt + words, is_split_into_words=True)["input_ids"]
    builder = model.pipeline.builder
    doc = builder.encode_words(words)
    built = builder.build(doc, 0, len(words), ["person", "drug dosage"])
    # anyner gives the zero-width space (no sub-tokens from this tokenizer) an [UNK] so it keeps a vector
    unk = builder.unk_id
    assert [i for i in built.input_ids if i != unk] == [i for i in expected if i != unk]
    assert len(built.word_positions) == len(words)


@pytest.mark.parametrize("runtime", ["torch", "onnx"])
@pytest.mark.parametrize("name", ["bi_span_tiny", "bi_token_tiny"])
def test_bi_encoder_label_vectors_are_gliners_and_can_be_passed_back(name, runtime, gliner_fixtures):
    folder = gliner_fixtures / name
    model = anyner.load(folder, runtime=runtime)
    case = json.loads((folder / "reference.json").read_text())["label_embeddings"]
    vectors = model.encode_labels(case["labels"])
    assert list(vectors.names) == case["labels"]
    assert np.abs(vectors.vectors - np.array(case["embeddings"], dtype=np.float32)).max() < 1e-5
    got = model.batch_predict_entities(
        case["texts"],
        vectors,
        threshold=case["threshold"],
        flat_ner=case["flat_ner"],
        multi_label=case["multi_label"],
    )
    for ours, theirs in zip(got, case["entities"], strict=True):
        assert [(e["start"], e["end"], e["label"]) for e in ours] == [
            (e["start"], e["end"], e["label"]) for e in theirs
        ]
        assert all(abs(a["score"] - b["score"]) < 1e-4 for a, b in zip(ours, theirs, strict=True))
    # plain calls give the same, from the cache once the labels were seen
    plain = model.batch_predict_entities(case["texts"], case["labels"], threshold=case["threshold"])
    assert plain == model.batch_predict_entities(case["texts"], vectors, threshold=case["threshold"])


def test_bi_encoder_scores_any_number_of_labels_in_one_pass_per_window(gliner_fixtures):
    model = anyner.load(gliner_fixtures / "bi_span_tiny", runtime="torch")
    labels = [f"type number {i}" for i in range(300)]
    passes = model.pipeline.plan(
        0, split_words("Ada Lovelace wrote programs in London."), parse_labels(labels)
    )
    assert len(passes) == 1 and passes[0].labels == list(range(300))
    uni = anyner.load(gliner_fixtures / "span_tiny", runtime="torch")
    assert len(uni.pipeline.plan(0, split_words("Ada Lovelace wrote."), parse_labels(labels))) > 1


def test_label_vectors_need_a_bi_encoder_and_the_same_model(gliner_fixtures):
    uni = anyner.load(gliner_fixtures / "span_tiny", runtime="torch")
    with pytest.raises(InputError, match="no label encoder"):
        uni.encode_labels(["person"])
    bi = anyner.load(gliner_fixtures / "bi_span_tiny", runtime="torch")
    other = LabelVectors(("person",), ("person",), np.zeros((1, 7), dtype=np.float32))
    with pytest.raises(InputError, match="7 dimensions"):
        bi.predict_entities("Ada Lovelace", other)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda cfg: [cfg], "JSON object"),
        (lambda cfg: {k: v for k, v in cfg.items() if k != "hidden_size"}, "lacks 'hidden_size'"),
        (lambda cfg: {**cfg, "max_len": 0}, "max_words=0"),
    ],
)
def test_bad_gliner_configs_are_clear_errors(tmp_path, gliner_fixtures, change, message):
    folder = _copy(gliner_fixtures, "bi_span_tiny", tmp_path)
    cfg = json.loads((folder / "gliner_config.json").read_text())
    (folder / "gliner_config.json").write_text(json.dumps(change(cfg)))
    with pytest.raises(CheckpointError, match=message):
        anyner.load(folder)

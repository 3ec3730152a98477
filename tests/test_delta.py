"""Weights saved relative to a pip-installed backbone: smaller, and loading gives the model back."""

import pytest
import torch
from safetensors.torch import load_file

import anyner
from anyner import AnyNER, CheckpointError


@pytest.fixture()
def trained(tiny_backbone):
    torch.manual_seed(1)
    model = AnyNER.from_backbone(tiny_backbone, dropout=0.0)
    with torch.no_grad():  # stand-in for training: one encoder layer moved, the rest left alone
        model.model.encoder.model.encoder.layer[0].attention.self.query.weight.add_(0.01)
    return model


def test_only_changes_are_stored_and_loading_restores_the_model(trained, tiny_backbone, tmp_path):
    trained.save(tmp_path / "full")
    trained.save(tmp_path / "delta", base=str(tiny_backbone))
    stored = load_file(tmp_path / "delta" / "model.safetensors")
    assert "encoder.model.encoder.layer.0.attention.self.query.weight@delta" in stored
    assert "encoder.model.encoder.layer.1.attention.self.query.weight" not in stored  # unchanged: not stored
    # the embedding matrix gained two marker rows; only those rows are stored
    assert stored["encoder.model.embeddings.word_embeddings.weight@rows"].numel() == 2
    assert "head.type_proj.0.weight" in stored  # the heads are new: stored whole
    full_size = (tmp_path / "full" / "model.safetensors").stat().st_size
    assert (tmp_path / "delta" / "model.safetensors").stat().st_size < full_size / 2

    again = anyner.load(tmp_path / "delta")
    for name, value in trained.model.state_dict().items():
        torch.testing.assert_close(again.model.state_dict()[name], value, atol=2e-3, rtol=1e-3)
    text = "Bill Gates founded Microsoft in New York City."
    a = trained.predict_entities(text, ["person", "city"], threshold=0.2)
    b = again.predict_entities(text, ["person", "city"], threshold=0.2)
    assert [(e["start"], e["end"], e["label"]) for e in a] == [(e["start"], e["end"], e["label"]) for e in b]


def test_stray_delta_weight_is_an_error(trained, tiny_backbone, tmp_path):
    from safetensors.torch import save_file

    trained.save(tmp_path / "delta", base=str(tiny_backbone))
    path = tmp_path / "delta" / "model.safetensors"
    stored = load_file(path)
    stored["encoder.model.no_such.weight@delta"] = torch.zeros(2)
    save_file(stored, path)
    with pytest.raises(CheckpointError, match="no_such"):
        anyner.load(tmp_path / "delta")


def test_a_backbone_with_padding_rows_past_its_tokenizer_round_trips(tiny_backbone, tmp_path):
    """multilingual-e5's embedding matrix is longer than its tokenizer: the model sizes it to
    the tokenizer (plus the markers), and the deltas are taken against the rows it keeps."""
    from transformers import AutoModel, AutoTokenizer

    padded = tmp_path / "padded-backbone"
    encoder = AutoModel.from_pretrained(str(tiny_backbone))
    tokenizer = AutoTokenizer.from_pretrained(str(tiny_backbone))
    encoder.resize_token_embeddings(len(tokenizer) + 7)
    encoder.save_pretrained(str(padded))
    tokenizer.save_pretrained(str(padded))
    torch.manual_seed(1)
    model = AnyNER.from_backbone(str(padded), dropout=0.0)
    assert model.model.encoder.model.get_input_embeddings().weight.shape[0] == len(tokenizer) + 2
    model.save(tmp_path / "delta", base=str(padded))
    again = anyner.load(tmp_path / "delta")
    for name, value in model.model.state_dict().items():
        torch.testing.assert_close(again.model.state_dict()[name], value, atol=2e-3, rtol=1e-3)


def test_a_delta_folder_without_tokenizer_files_takes_the_backbones(trained, tiny_backbone, tmp_path):
    trained.save(tmp_path / "delta", base=str(tiny_backbone))
    for path in (tmp_path / "delta").glob("tokenizer*"):
        path.unlink()
    (tmp_path / "delta" / "vocab.txt").unlink(missing_ok=True)
    (tmp_path / "delta" / "special_tokens_map.json").unlink(missing_ok=True)
    again = anyner.load(tmp_path / "delta")
    text = "Bill Gates founded Microsoft in New York City."
    assert again.tokenizer(text)["input_ids"] == trained.tokenizer(text)["input_ids"]
    markers = ["<<ENT>>", "<<SEP>>"]
    assert again.tokenizer.convert_tokens_to_ids(markers) == trained.tokenizer.convert_tokens_to_ids(markers)
    a = trained.predict_entities(text, ["person", "city"], threshold=0.2)
    b = again.predict_entities(text, ["person", "city"], threshold=0.2)
    assert [(e["start"], e["end"], e["label"]) for e in a] == [(e["start"], e["end"], e["label"]) for e in b]

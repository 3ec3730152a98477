"""LoRA training: only adapters and heads train; the adapter is saved apart from the base."""

import json

import anyner
from anyner.checkpoints.int8 import quantize_file
from anyner.train.config import config_from_dict
from anyner.train.trainer import Trainer

LINES = [
    {
        "tokenized_text": ["Bill", "Gates", "founded", "Microsoft"],
        "ner": [[0, 1, "person"], [3, 3, "organization"]],
    },
    {"tokenized_text": ["She", "lives", "in", "New", "York", "city"], "ner": [[3, 4, "location"]]},
    {"tokenized_text": ["Nothing", "here"], "ner": []},
]


def test_lora_trains_adapters_and_heads_only(tiny_backbone, tmp_path):
    data = tmp_path / "train.jsonl"
    data.write_text("\n".join(json.dumps(x) for x in LINES * 4))
    cfg = config_from_dict(
        {
            "output_dir": str(tmp_path / "run"),
            "backbone": str(tiny_backbone),
            "train": [str(data)],
            "steps": 3,
            "batch_size": 2,
            "bf16": False,
            "threads": 1,
            "lora": {"r": 4, "alpha": 8, "target_modules": ["query", "value"]},
        }
    )
    trainer = Trainer(cfg)
    trainable = {n for n, p in trainer.model.named_parameters() if p.requires_grad}
    assert all(
        n.startswith("head.") or n.startswith("rnn.") or "lora_" in n or "token_adapter" in n
        for n in trainable
    )
    assert any("lora_" in n for n in trainable)
    out = trainer.run()
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
    assert json.loads((out / "anyner_config.json").read_text())["base"] == str(tiny_backbone)
    loaded = anyner.load(out)
    text = "Bill Gates lives in New York"
    a = trainer.ner.predict_entities(text, ["person", "location"], threshold=0.2)
    b = loaded.predict_entities(text, ["person", "location"], threshold=0.2)
    assert [(e["start"], e["end"], e["label"]) for e in a] == [(e["start"], e["end"], e["label"]) for e in b]
    assert all(abs(x["score"] - y["score"]) < 1e-3 for x, y in zip(a, b, strict=True))
    # shipped weights may be stored in 8 bits (checkpoints/int8.py): the same entities, close scores
    for weights in (out / "adapter" / "adapter_model.safetensors", out / "model.safetensors"):
        quantize_file(weights)
    c = anyner.load(out).predict_entities(text, ["person", "location"], threshold=0.2)
    spans = [(e["start"], e["end"], e["label"]) for e in c]
    assert spans and spans == [(e["start"], e["end"], e["label"]) for e in a]
    assert all(abs(x["score"] - y["score"]) < 0.02 for x, y in zip(a, c, strict=True))

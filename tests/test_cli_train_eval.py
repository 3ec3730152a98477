"""`anyner train` and `anyner eval`: tiny configs and data written by the test, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers import assert_user_error
from typer.testing import CliRunner

import anyner
from anyner.cli import app

TRAIN = [
    {
        "tokenized_text": ["bill", "gates", "founded", "microsoft"],
        "ner": [[0, 1, "person"], [3, 3, "organization"]],
    },
    {
        "tokenized_text": ["microsoft", "is", "in", "new", "york"],
        "ner": [[0, 0, "organization"], [3, 4, "location"]],
    },
    {"tokenized_text": ["april", "4", "in", "albuquerque"], "ner": [[0, 1, "date"], [3, 3, "location"]]},
    {"tokenized_text": ["gates", "of", "microsoft"], "ner": [[0, 0, "person"], [2, 2, "organization"]]},
    {"tokenized_text": ["the", "city", "is", "big"], "ner": []},
    {"tokenized_text": ["bill", "and", "new", "york", "city"], "ner": [[0, 0, "person"], [2, 4, "location"]]},
]

runner = CliRunner()


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


@pytest.fixture
def config(tmp_path, tiny_backbone) -> Path:
    write_jsonl(tmp_path / "train.jsonl", TRAIN)
    path = tmp_path / "train.yaml"
    path.write_text(
        f"output_dir: out\n"
        f"train: train.jsonl\n"
        f"backbone: {json.dumps(str(tiny_backbone))}\n"
        f"steps: 4\n"
        f"batch_size: 2\n"
        f"checkpoint_every: 2\n"
        f"eval_every: 100\n"
        f"bf16: false\n"
        f"max_width: 4\n",
        encoding="utf-8",
    )
    return path


@pytest.fixture(scope="module")
def model_dir(span_model, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("eval") / "model"
    span_model.save(folder)
    return folder


# -- train ---------------------------------------------------------------------------------


def test_train_writes_a_loadable_model(config, tmp_path):
    result = runner.invoke(app, ["train", str(config)])
    assert result.exit_code == 0, result.output
    final = tmp_path / "out" / "model"
    assert result.stdout.strip().splitlines()[-1] == str(final)
    assert (tmp_path / "out" / "checkpoints").is_dir()
    ner = anyner.load(final)
    assert isinstance(ner.predict_entities("bill gates founded microsoft", ["person"]), list)


def test_train_options_override_the_config(config, tmp_path):
    out = tmp_path / "elsewhere"
    result = runner.invoke(app, ["train", str(config), "--steps", "2", "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().splitlines()[-1] == str(out / "model")
    assert not (tmp_path / "out").exists()
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert log[0]["config"]["steps"] == 2
    assert log[-1]["event"] == "done"


def test_train_unknown_config_key_is_one_line(config):
    config.write_text(config.read_text() + "learning_rat: 0.1\n", encoding="utf-8")
    assert_user_error(runner.invoke(app, ["train", str(config)]), "learning_rat")


def test_train_bad_value_is_one_line(config):
    config.write_text(config.read_text().replace("steps: 4", "steps: 0"), encoding="utf-8")
    assert_user_error(runner.invoke(app, ["train", str(config)]), "steps=0")


def test_train_missing_config_is_one_line(tmp_path):
    missing = tmp_path / "nope.yaml"
    assert_user_error(runner.invoke(app, ["train", str(missing)]), str(missing))


# -- eval ----------------------------------------------------------------------------------


def test_eval_prints_scores_and_writes_consistent_json(model_dir, tmp_path):
    data = write_jsonl(tmp_path / "test.jsonl", TRAIN)
    out = tmp_path / "scores.json"
    args = ["eval", str(data), "--model", str(model_dir), "--threshold", "0.3", "--json", str(out)]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "F1" in result.stdout and "macro F1" in result.stdout
    assert "threshold 0.3" in result.stdout and "flat decoding" in result.stdout
    summary = json.loads(out.read_text(encoding="utf-8"))
    assert summary["threshold"] == 0.3 and summary["mode"] == "flat"
    (res,) = summary["results"]
    gold = sum(len(r["ner"]) for r in TRAIN)
    micro = res["micro"]
    assert res["examples"] == len(TRAIN)
    assert micro["tp"] + micro["fn"] == gold
    assert sum(t["tp"] + t["fn"] for t in res["per_type"].values()) == gold
    assert sum(t["tp"] + t["fp"] for t in res["per_type"].values()) == micro["tp"] + micro["fp"]
    assert 0.0 <= micro["f1"] <= 100.0


def test_eval_label_map_reports_the_data_labels(model_dir, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", [{"tokenized_text": ["bill", "gates"], "ner": [[0, 1, "PER"]]}])
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"PER": "person", "ORG": "organization"}), encoding="utf-8")
    out = tmp_path / "s.json"
    args = ["eval", str(data), "-m", str(model_dir), "--label-map", str(mapping), "--nested"]
    result = runner.invoke(app, [*args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "nested decoding" in result.stdout
    per_type = json.loads(out.read_text())["results"][0]["per_type"]
    assert set(per_type) <= {"PER", "ORG"} and per_type["PER"]["tp"] + per_type["PER"]["fn"] == 1


def test_eval_label_map_missing_a_label_is_one_line(model_dir, tmp_path):
    data = write_jsonl(
        tmp_path / "d.jsonl", [{"tokenized_text": ["a", "b"], "ner": [[0, 0, "PER"], [1, 1, "LOC"]]}]
    )
    mapping = tmp_path / "map.json"
    mapping.write_text(json.dumps({"PER": "person"}), encoding="utf-8")
    result = runner.invoke(app, ["eval", str(data), "-m", str(model_dir), "--label-map", str(mapping)])
    err = assert_user_error(result, "'LOC'")
    assert "'PER'" not in err


def test_eval_input_errors_are_one_line(model_dir, tmp_path):
    data = write_jsonl(tmp_path / "d.jsonl", TRAIN[:1])
    mapping = tmp_path / "map.json"
    mapping.write_text('{"person": "person"}', encoding="utf-8")
    both = ["eval", str(data), "-m", str(model_dir), "--labels", "person", "--label-map", str(mapping)]
    assert_user_error(runner.invoke(app, both), "--label-map")
    assert_user_error(runner.invoke(app, ["eval", str(tmp_path / "none.jsonl"), "-m", str(model_dir)]))
    bad = ["eval", str(data), "-m", str(model_dir), "--threshold", "2"]
    assert_user_error(runner.invoke(app, bad), "threshold")
    empty = write_jsonl(tmp_path / "none_labelled.jsonl", [TRAIN[4]])
    assert_user_error(runner.invoke(app, ["eval", str(empty), "-m", str(model_dir)]), "--labels")

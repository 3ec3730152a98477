"""Exact resume: a training run killed mid-way and started again ends with the same weights as a
run that was never interrupted; damaged or foreign checkpoints stop with a clear CheckpointError."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from helpers import TRAIN_LINES
from safetensors.torch import load_file

from anyner.errors import CheckpointError
from anyner.train.checkpoint import LATEST, latest_checkpoint, load_checkpoint, save_checkpoint

# Runs the trainer from a JSON config. DELAY seconds of sleep before each micro-batch give the
# test time to kill the process between two checkpoints; the sleep changes no computation.
RUNNER = textwrap.dedent(
    """
    import json, sys, time
    from anyner.train.config import config_from_dict
    from anyner.train.trainer import Trainer

    trainer = Trainer(config_from_dict(json.loads(sys.argv[1])))
    delay = float(sys.argv[2])
    if delay:
        batch = trainer._batch

        def slow_batch(step, micro):
            time.sleep(delay)
            return batch(step, micro)

        trainer._batch = slow_batch
    trainer.run()
    """
)


def write_train_file(path: Path) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for words, ner in TRAIN_LINES:
            f.write(json.dumps({"tokenized_text": words, "ner": ner}) + "\n")
    return path


def train_config(out: Path, data: Path, backbone: Path, steps: int, **extra) -> dict:
    return {
        "output_dir": str(out),
        "train": [str(data)],
        "backbone": str(backbone),
        "bf16": False,
        "steps": steps,
        "batch_size": 2,
        "checkpoint_every": 5,
        "threads": 1,
        "max_width": 4,
        **extra,
    }


def start(runner: Path, cfg: dict, delay: float) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, str(runner), json.dumps(cfg), str(delay)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen, timeout: float = 120) -> None:
    _, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]


def weights(out: Path) -> dict[str, torch.Tensor]:
    return load_file(str(out / "model" / "model.safetensors"))


def test_killed_run_resumes_to_identical_weights(tmp_path, tiny_backbone):
    from anyner.train.config import config_from_dict
    from anyner.train.trainer import Trainer

    data = write_train_file(tmp_path / "train.jsonl")
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    for attempt, steps in enumerate((40, 160, 640)):
        killed, straight = tmp_path / f"killed-{attempt}", tmp_path / f"straight-{attempt}"
        proc = start(runner, train_config(killed, data, tiny_backbone, steps), 0.2)
        pointer = killed / "checkpoints" / LATEST
        try:
            # the uninterrupted run, here while the other process starts up
            Trainer(config_from_dict(train_config(straight, data, tiny_backbone, steps))).run()
            deadline = time.monotonic() + 120
            while not pointer.exists() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            assert pointer.exists() or proc.poll() is not None, "no checkpoint within 120 s"
        finally:
            proc.send_signal(signal.SIGKILL)
            _, err = proc.communicate()
        if proc.returncode == -signal.SIGKILL and not (killed / "model").exists():
            break  # really killed mid-way; otherwise try again with a longer run
        assert proc.returncode == 0, err[-3000:]
    else:
        pytest.fail("the training run always finished before it could be killed")

    killed_at = int(pointer.read_text().strip().removeprefix("step-"))
    assert 0 < killed_at < steps

    finish(start(runner, train_config(killed, data, tiny_backbone, steps), 0.0))  # resumes

    starts = [
        json.loads(line)["step"]
        for line in (killed / "train_log.jsonl").read_text().splitlines()
        if json.loads(line).get("event") == "start"
    ]
    assert starts == [0, killed_at]

    resumed, uninterrupted = weights(killed), weights(straight)
    assert resumed.keys() == uninterrupted.keys()
    differ = [k for k in resumed if not torch.equal(resumed[k], uninterrupted[k])]
    assert differ == []
    # training did move the encoder: the comparison above is not between two copies of the start
    init = load_file(str(tiny_backbone / "model.safetensors"))
    trained = {k.removeprefix("encoder.model."): v for k, v in resumed.items()}
    same_shape = [k for k in init if k in trained and trained[k].shape == init[k].shape]
    assert len(same_shape) > 10
    assert any(not torch.equal(trained[k], init[k]) for k in same_shape)


# -- damaged checkpoints ------------------------------------------------------------------


def tiny_state():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 / (step + 1))
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    scheduler.step()
    return model, optimizer, scheduler


def test_checkpoint_round_trip_and_leftover_partial_folder(tmp_path):
    root = tmp_path / "checkpoints"
    model, optimizer, scheduler = tiny_state()
    save_checkpoint(root, 5, model, optimizer, scheduler, keep=2)
    (root / ".partial-abc123").mkdir()  # a write that was killed: never named by `latest`
    (root / ".partial-abc123" / "model.safetensors").write_bytes(b"\x00" * 10)
    folder = latest_checkpoint(root)
    assert folder == root / "step-00000005"

    fresh = torch.nn.Linear(3, 2)
    fresh_opt = torch.optim.AdamW(fresh.parameters(), lr=0.1)
    fresh_sched = torch.optim.lr_scheduler.LambdaLR(fresh_opt, lambda step: 1.0 / (step + 1))
    assert load_checkpoint(folder, fresh, fresh_opt, fresh_sched) == 5
    assert torch.equal(fresh.weight, model.weight)
    assert fresh_sched.last_epoch == scheduler.last_epoch == 1
    assert fresh_opt.param_groups[0]["lr"] == optimizer.param_groups[0]["lr"]


def test_no_pointer_means_a_fresh_start(tmp_path):
    assert latest_checkpoint(tmp_path / "checkpoints") is None


def test_latest_names_a_missing_checkpoint(tmp_path):
    root = tmp_path / "checkpoints"
    model, optimizer, scheduler = tiny_state()
    save_checkpoint(root, 5, model, optimizer, scheduler, keep=2)
    (root / ".partial-xyz").mkdir()
    (root / LATEST).write_text("step-00000010")  # the pointer moved, the folder never landed
    with pytest.raises(CheckpointError) as info:
        latest_checkpoint(root)
    message = str(info.value)
    assert "step-00000010" in message and "missing or incomplete" in message
    assert "step-00000005" in message  # the checkpoint that can still be used
    assert f"delete {root}" in message


@pytest.mark.parametrize("pointer", ["", "   \n", "no-such-folder"])
def test_garbled_pointer(tmp_path, pointer):
    root = tmp_path / "checkpoints"
    root.mkdir()
    (root / LATEST).write_text(pointer)
    with pytest.raises(CheckpointError, match=r"missing or incomplete.*delete .* to restart"):
        latest_checkpoint(root)


@pytest.mark.parametrize("damaged", ["model.safetensors", "optim.pt", "state.json"])
def test_garbled_checkpoint_files(tmp_path, damaged):
    root = tmp_path / "checkpoints"
    model, optimizer, scheduler = tiny_state()
    save_checkpoint(root, 5, model, optimizer, scheduler, keep=2)
    folder = save_checkpoint(root, 10, model, optimizer, scheduler, keep=2)
    path = folder / damaged
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])  # a truncated write
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(latest_checkpoint(root), *tiny_state())
    message = str(info.value)
    assert message.startswith(f"cannot resume from {folder}")
    assert "step-00000005" in message and str(root / LATEST) in message  # the fix: point at another
    assert f"delete {root} to restart" in message


def test_checkpoint_of_another_model_shape(tmp_path):
    root = tmp_path / "checkpoints"
    model, optimizer, scheduler = tiny_state()
    folder = save_checkpoint(root, 5, model, optimizer, scheduler, keep=2)
    other = torch.nn.Linear(4, 2)
    other_opt = torch.optim.AdamW(other.parameters(), lr=0.1)
    other_sched = torch.optim.lr_scheduler.LambdaLR(other_opt, lambda step: 1.0)
    with pytest.raises(CheckpointError, match="different model config"):
        load_checkpoint(folder, other, other_opt, other_sched)


def test_span_run_cannot_resume_a_token_runs_checkpoints(tmp_path, tiny_backbone):
    from anyner.train.config import config_from_dict
    from anyner.train.trainer import Trainer

    data = write_train_file(tmp_path / "train.jsonl")
    out = tmp_path / "run"
    Trainer(
        config_from_dict(train_config(out, data, tiny_backbone, 2, architecture="token", checkpoint_every=2))
    ).run()
    assert (out / "checkpoints" / "step-00000002" / "model.safetensors").is_file()
    span = Trainer(config_from_dict(train_config(out, data, tiny_backbone, 4, architecture="span")))
    with pytest.raises(CheckpointError) as info:
        span.run()
    message = str(info.value)
    assert "step-00000002" in message and "different model config" in message
    assert "missing weight(s)" in message and "unexpected weight(s)" in message
    assert "new output_dir" in message


def test_batches_built_by_worker_processes_train_the_same_weights(tmp_path, tiny_backbone):
    from anyner.train.config import config_from_dict
    from anyner.train.trainer import Trainer

    data = write_train_file(tmp_path / "train.jsonl")
    finals = []
    for workers in (0, 2):
        cfg = train_config(tmp_path / f"w{workers}", data, tiny_backbone, steps=6, workers=workers)
        finals.append(load_file(str(Trainer(config_from_dict(cfg)).run() / "model.safetensors")))
    assert finals[0].keys() == finals[1].keys()
    assert all(torch.equal(finals[0][k], finals[1][k]) for k in finals[0])


class _Planted:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


def test_a_planted_pickle_in_a_training_checkpoint_never_runs(tmp_path):
    model = torch.nn.Linear(2, 2)
    optimizer = torch.optim.AdamW(model.parameters())
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    folder = save_checkpoint(tmp_path / "ckpt", 5, model, optimizer, scheduler, keep=2)
    marker = tmp_path / "marker.txt"
    torch.save({"optimizer": _Planted(marker)}, folder / "optim.pt")
    with pytest.raises(CheckpointError, match="cannot resume"):
        load_checkpoint(folder, model, optimizer, scheduler)
    assert not marker.exists()

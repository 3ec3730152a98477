"""DDP under torchrun (CPU, gloo): two ranks split each global batch, and end with the same weights."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from helpers import TRAIN_LINES
from safetensors.torch import load_file

STEPS = 3

# Each rank records the examples of its first two steps (before training) and its weights (after).
SCRIPT = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import torch.distributed as dist
    from safetensors.torch import save_file
    from anyner.train.config import config_from_dict
    from anyner.train.trainer import Trainer

    cfg = config_from_dict(json.loads(sys.argv[1]))
    trainer = Trainer(cfg)
    seen = [[trainer.data.examples[i].words for i in trainer._examples(step, 0)] for step in range(2)]
    trainer.run()
    out = Path(sys.argv[2])
    state = {k: v.detach().contiguous() for k, v in trainer.model.state_dict().items()}
    save_file(state, str(out / f"rank{trainer.rank}.safetensors"))
    (out / f"rank{trainer.rank}.json").write_text(json.dumps({"world": trainer.world, "seen": seen}))
    dist.destroy_process_group()
    """
)


def config(out: Path, data: Path, backbone: Path, **extra) -> dict:
    return {
        "output_dir": str(out),
        "train": [str(data)],
        "backbone": str(backbone),
        "bf16": False,
        "steps": STEPS,
        "batch_size": 2,
        "checkpoint_every": 2,
        "threads": 1,
        "max_width": 4,
        **extra,
    }


def test_ddp_two_ranks_on_cpu(tmp_path, tiny_backbone):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent))
    if torchrun is None:
        pytest.skip("torchrun is not installed next to this Python")
    data = tmp_path / "train.jsonl"
    data.write_text("".join(json.dumps({"tokenized_text": w, "ner": n}) + "\n" for w, n in TRAIN_LINES))
    script, out, dumps = tmp_path / "ddp_train.py", tmp_path / "run", tmp_path / "ranks"
    script.write_text(SCRIPT)
    dumps.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    env["OMP_NUM_THREADS"] = "1"
    cfg = json.dumps(config(out, data, tiny_backbone))
    cmd = [torchrun, "--nproc_per_node", "2", "--standalone", str(script), cfg, str(dumps)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:]

    assert (out / "model" / "model.safetensors").is_file()
    assert (out / "checkpoints" / "latest").read_text().strip() == f"step-{STEPS:08d}"
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r.get("event") for r in log].count("start") == 1  # only rank 0 writes the log
    assert log[-1]["event"] == "done"

    ranks = [json.loads((dumps / f"rank{r}.json").read_text()) for r in range(2)]
    assert [r["world"] for r in ranks] == [2, 2]
    seen = [r["seen"] for r in ranks]
    assert seen[0][0] != seen[1][0]  # the two halves of step 0's global batch
    assert seen[0][1] != seen[1][1]
    assert all(len(batch) == 2 for rank in seen for batch in rank)

    # the global batch of a step is what one process with grad_accum=2 trains on in that step
    from anyner.train.config import config_from_dict
    from anyner.train.trainer import Trainer

    single = Trainer(config_from_dict(config(tmp_path / "single", data, tiny_backbone, grad_accum=2)))
    assert single.world == 1
    for step in range(2):
        expected = [[single.data.examples[i].words for i in single._examples(step, m)] for m in range(2)]
        assert [seen[0][step], seen[1][step]] == expected

    # gradients were averaged across ranks: both end with the weights rank 0 saved
    saved = load_file(str(out / "model" / "model.safetensors"))
    start = single.model.state_dict()  # the same seed gives the same starting weights
    for r in range(2):
        rank_state = load_file(str(dumps / f"rank{r}.safetensors"))
        assert rank_state.keys() == saved.keys()
        assert all(torch.equal(rank_state[k], saved[k]) for k in saved)
    assert any(not torch.equal(start[k], saved[k]) for k in saved)

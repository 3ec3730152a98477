"""The boundary-aware contrastive loss: low when a mention's boundary representation points at
its type's state, high when a wrong boundary does; zero without mentions; gradients flow."""

import numpy as np
import torch

from anyner.train.contrastive import BoundaryProjection, boundary_contrastive_loss
from anyner.train.targets import gold_spans


def _setup(dim=4, words=6):
    torch.manual_seed(0)
    states = torch.randn(1, words + 2, dim)  # tokens: [ENT] + words + one more
    word_positions = torch.arange(1, words + 1).unsqueeze(0)
    type_positions = torch.tensor([[0]])
    project = BoundaryProjection(dim)
    with torch.no_grad():  # reps = h_start + h_end: easy to steer in the test
        project.proj.weight.copy_(torch.cat([torch.eye(dim), torch.eye(dim)], dim=1))
        project.proj.bias.zero_()
    return states, word_positions, torch.tensor([words]), type_positions, project


def _loss(states, wp, wl, tp, project, gold, **kw):
    options = {"temperature": 0.1, "shift": 1, "random_negatives": 0, "max_width": 4}
    return boundary_contrastive_loss(
        states, wp, wl, tp, gold, project, rng=np.random.default_rng(0), **{**options, **kw}
    )


def test_aligned_boundaries_give_a_low_loss_and_misaligned_a_high_one():
    states, wp, wl, tp, project = _setup()
    gold = [[(2, 3, 0)]]  # words 2..3, type 0
    t, u = torch.eye(4)[0], torch.eye(4)[1]
    aligned = states.clone()
    aligned[0, 0] = t
    aligned[0, 1:7] = -t  # every word points away from the type...
    aligned[0, 3], aligned[0, 4] = t + u, t - u  # ...but the gold start and end: only together exactly t
    low = _loss(aligned, wp, wl, tp, project, gold)
    shifted = aligned.clone()
    shifted[0, 4], shifted[0, 5] = -t, t - u  # the end one word to the right
    high = _loss(shifted, wp, wl, tp, project, gold)
    assert float(low) < 0.3 < 1.0 < float(high)


def test_no_mentions_is_zero_and_gradients_reach_states_and_projection():
    states, wp, wl, tp, project = _setup()
    assert float(_loss(states, wp, wl, tp, project, [[]])) == 0.0
    states.requires_grad_(True)
    loss = _loss(states, wp, wl, tp, project, [[(0, 1, 0)]], random_negatives=3)
    loss.backward()
    assert states.grad.abs().sum() > 0 and project.proj.weight.grad.abs().sum() > 0


def test_gold_spans_index_the_asked_types():
    from anyner.data.example import Example

    ex = Example(["a", "b", "c"], [(0, 0, "x"), (1, 2, "y"), (2, 2, "z")])
    assert gold_spans([ex], [["y", "x"]]) == [[(0, 0, 1), (1, 2, 0)]]


def test_base_training_takes_the_loss_as_an_option(tiny_backbone, tmp_path):
    import json

    import pytest

    from anyner.errors import InputError
    from anyner.train.config import config_from_dict
    from anyner.train.trainer import Trainer

    data = tmp_path / "train.jsonl"
    line = {"tokenized_text": ["bill", "gates", "founded", "microsoft"], "ner": [[0, 1, "person"]]}
    data.write_text((json.dumps(line) + "\n") * 4)
    base = {"output_dir": str(tmp_path / "run"), "backbone": str(tiny_backbone), "train": [str(data)]}
    options = {"steps": 2, "batch_size": 2, "bf16": False, "threads": 1}
    cfg = config_from_dict({**base, **options, "contrastive": {"weight": 1.0, "layer": -1}})
    trainer = Trainer(cfg)
    assert trainer.contrastive is not None
    before = trainer.contrastive.project.proj.weight.detach().clone()
    trainer.run()
    assert not torch.equal(before, trainer.contrastive.project.proj.weight)  # it trained with the model
    with pytest.raises(InputError, match="unknown contrastive settings key"):
        config_from_dict({**base, "contrastive": {"wieght": 1.0}})
    with pytest.raises(InputError, match="temperature"):
        config_from_dict({**base, "contrastive": {"temperature": 0}})

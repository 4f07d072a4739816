"""Co-training draws each dataset in proportion to its weight; batches are normalized per embodiment."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from policy_helpers import episodes_for, tiny_config_dict

from lad_core.errors import ConfigError
from lad_core.policy.sampling import CoTrainingBatcher, CoTrainingSampler, normalize_weights, sub_batch_sizes
from lad_core.policy.train_config import train_config_from_dict
from lad_core.policy.training import build_codec, build_datasets, fit_normalizer


@pytest.mark.parametrize("weights", [(1.0, 1.0), (3.0, 1.0), (0.2, 0.5, 0.3), (1.0, 0.0)])
def test_draws_in_proportion_to_weights(weights):
    sampler = CoTrainingSampler([50, 70, 90][: len(weights)], weights, batch_size=10, seed=1)
    counts = np.zeros(len(weights))
    steps = 2000
    for _ in range(steps):
        sizes = [len(i) for i in sampler.next()]
        assert sum(sizes) == 10
        counts += sizes
    expected = np.asarray(weights) / sum(weights)
    np.testing.assert_allclose(counts / counts.sum(), expected, atol=0.01)


def test_sub_batch_sizes_round_each_share():
    rng = np.random.default_rng(0)
    w = normalize_weights([1, 1, 1])
    for _ in range(50):
        sizes = sub_batch_sizes(64, w, rng)
        assert sizes.sum() == 64 and set(sizes) <= {21, 22}


def test_bad_weights_are_config_errors():
    with pytest.raises(ConfigError, match="weights"):
        normalize_weights([0, 0])
    with pytest.raises(ConfigError, match="weights"):
        normalize_weights([1, -1])


def test_each_dataset_is_visited_without_replacement():
    sampler = CoTrainingSampler([30, 30], [1, 1], batch_size=10, seed=0)
    seen = np.concatenate([sampler.next()[0] for _ in range(30)])  # about 150 draws of a 30-window dataset
    first = seen[:30]
    assert sorted(first) == list(range(30))


def test_batches_are_latent_normalized_and_concatenated():
    cfg = train_config_from_dict(tiny_config_dict())
    datasets = build_datasets(cfg, episodes_for(cfg))
    codec = build_codec(cfg, datasets)
    norm = fit_normalizer(cfg, datasets, codec)
    batcher = CoTrainingBatcher(datasets, CoTrainingSampler([len(d) for d in datasets], [1, 3], 64, seed=0), norm,
                                codec)
    batch = batcher()
    assert batch["action"].shape == (64, cfg.policy.horizon, 6 + 16)
    assert batch["obs"]["state"].shape == (64, 2, 8)
    assert batch["action"].abs().max() <= 1.0 + 1e-5 and batch["obs"]["state"].abs().max() <= 1.0 + 1e-5
    share = (batch["dataset_index"] == 1).float().mean().item()
    assert 0.7 <= share <= 0.8
    # the latent part is the encoder's output, normalized with that embodiment's statistics
    ds = datasets[0]
    window = ds.get_batch(np.arange(5))
    latent = codec.encode(ds.embodiment, torch.from_numpy(window["end_effector"]))
    raw = torch.cat([torch.from_numpy(window["arm"]), latent], -1)
    back = norm.unnormalize_action(norm.normalize_action(raw, ds.embodiment), ds.embodiment)
    torch.testing.assert_close(back, raw, atol=1e-5, rtol=1e-5)

"""Checkpoints: safetensors + JSON round trip; loading names what does not match."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from lad_core.errors import InputError
from lad_core.latent.checkpoint import load_model
from lad_core.latent.modeling import LatentActionModel


def _model():
    torch.manual_seed(0)
    dims = {"mimic": 16, "gripper": 1}
    m = LatentActionModel(dims, 8, {"mimic": [16, 16], "gripper": [8]}, meta={"note": "test"})
    m.fit_normalization({k: torch.rand(32, d) for k, d in dims.items()})
    return m.eval()


def test_round_trip_gives_identical_outputs_and_no_pickles(tmp_path):
    m = _model()
    path = m.save(tmp_path / "ckpt", {"metrics": {"sr": 0.1}})
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "model.safetensors"]
    back = LatentActionModel.load(path)
    x = np.random.default_rng(0).random((10, 16)).astype(np.float32)
    np.testing.assert_array_equal(back.encode("mimic", x), m.encode("mimic", x))
    np.testing.assert_array_equal(back.cross("mimic", "gripper", x), m.cross("mimic", "gripper", x))
    cfg = json.loads((path / "config.json").read_text())
    assert cfg["embodiments"]["mimic"]["dim"] == 16 and cfg["meta"] == {"note": "test", "metrics": {"sr": 0.1}}
    from safetensors.torch import load_file

    stats = load_file(str(path / "model.safetensors"))
    torch.testing.assert_close(stats["normalizers.mimic.std"], m.normalizers["mimic"].std)
    assert LatentActionModel.load(path / "model.safetensors").embodiments == ["mimic", "gripper"]


def test_a_checkpoint_for_other_embodiments_is_refused_with_names(tmp_path):
    path = _model().save(tmp_path / "ckpt")
    with pytest.raises(InputError, match=r"trained on \['gripper', 'mimic'\] and has no \['faive', 'human'\]"):
        load_model(path, ["mimic", "faive", "human"])


def _edit_config(path, fn):
    cfg = json.loads((path / "config.json").read_text())
    fn(cfg)
    (path / "config.json").write_text(json.dumps(cfg))


def test_dimension_and_joint_mismatches_with_the_registry_are_named(tmp_path):
    path = _model().save(tmp_path / "ckpt")
    _edit_config(path, lambda c: c["embodiments"]["mimic"].update(dim=12))
    with pytest.raises(InputError, match="'mimic' has 12 dims in the checkpoint but 16 in the registered embodiment"):
        load_model(path)
    path2 = _model().save(tmp_path / "ckpt2")
    _edit_config(path2, lambda c: c["embodiments"]["mimic"]["joint_names"].reverse())
    with pytest.raises(InputError, match="'mimic' joint names differ"):
        load_model(path2)
    path3 = _model().save(tmp_path / "ckpt3")
    _edit_config(path3, lambda c: c["embodiments"].update(robotarm={"dim": 7}))
    with pytest.raises(InputError, match="'robotarm' is not registered"):
        load_model(path3)


def test_weights_that_do_not_fit_the_architecture(tmp_path):
    path = _model().save(tmp_path / "ckpt")
    _edit_config(path, lambda c: c["architecture"].update(latent_dim=9))
    with pytest.raises(InputError, match="do not fit the architecture"):
        load_model(path)


def test_missing_or_foreign_checkpoints(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_model(tmp_path / "none")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not a latent model checkpoint"):
        load_model(tmp_path / "empty")
    path = _model().save(tmp_path / "ckpt")
    _edit_config(path, lambda c: c.update(format="lad-policy"))
    with pytest.raises(InputError, match="format is 'lad-policy'"):
        load_model(path)


def test_the_policy_side_adapter_loads_it(tmp_path):
    from lad_core.policy.latent import load_latent_codec

    path = _model().save(tmp_path / "ckpt")
    codec = load_latent_codec(path)
    assert codec.latent_dim == 8 and codec.embodiments == ["gripper", "mimic"]
    z = codec.encode("mimic", torch.rand(2, 3, 16))
    assert z.shape == (2, 3, 8) and codec.decode("gripper", z).shape == (2, 3, 1)

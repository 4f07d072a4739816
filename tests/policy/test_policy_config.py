"""Configs: validated fields named in errors, YAML with unknown keys rejected, every shipped YAML builds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lad_core.errors import ConfigError
from lad_core.policy.configuration import ActionConfig, ObservationConfig
from lad_core.policy.train_config import load_train_config
from lad_core.policy.unet.configuration import UnetPolicyConfig

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "resources" / "configs" / "policy").glob("*.yaml"))


def test_field_errors_name_field_and_value():
    with pytest.raises(ConfigError, match=r"field 'horizon'.*divisible by 4.*got 18"):
        UnetPolicyConfig(horizon=18, n_action_steps=8)
    with pytest.raises(ConfigError, match=r"field 'action.arm_mode'.*got 'absolute'"):
        ActionConfig(arm_mode="absolute")
    with pytest.raises(ConfigError, match=r"observation.crop_size"):
        ObservationConfig(image_size=(64, 64), crop_size=(84, 84))


def test_yaml_errors_name_file_and_key(tmp_path):
    good = CONFIGS[0].read_text()
    bad = tmp_path / "typo.yaml"
    bad.write_text(good.replace("horizon:", "horizn:", 1))
    with pytest.raises(ConfigError, match=r"typo\.yaml, field 'policy\.horizn': unknown key"):
        load_train_config(bad)
    bad.write_text(re.sub(r"batch_size: \d+", "batch_size: sixty", good))
    with pytest.raises(ConfigError, match=r"typo\.yaml, field 'run\.batch_size': expected int"):
        load_train_config(bad)
    bad.write_text(good.replace("type: ", "type: lstm #", 1))
    with pytest.raises(ConfigError, match=r"unknown policy type 'lstm'"):
        load_train_config(bad)
    with pytest.raises(ConfigError, match="not found"):
        load_train_config(tmp_path / "missing.yaml")


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.stem)
def test_shipped_config_builds(path):
    from lad_core.policy.factory import make_policy

    cfg = load_train_config(path)
    before = cfg.to_dict()
    policy = make_policy(cfg.policy_type, cfg.policy)
    assert policy.num_parameters() > 0 and cfg.to_dict() == before
    for d in cfg.datasets:  # relative paths resolved against the file's folder
        assert d.path is None or Path(d.path).is_absolute()


def test_absolute_and_relative_paths_in_a_config_file(tmp_path):
    """A relative dataset path resolves against the YAML's folder; an absolute one is kept as written."""
    elsewhere = tmp_path / "data" / "gripper"
    text = (f"policy: {{type: transformer, action: {{end_effector: explicit, end_effector_dim: 1}}}}\n"
            f"datasets:\n"
            f"  - {{name: a, embodiment: gripper, path: {elsewhere}}}\n"
            f"  - {{name: b, embodiment: gripper, path: demos/gripper}}\n")
    (tmp_path / "cfgs").mkdir()
    cfg_file = tmp_path / "cfgs" / "run.yaml"
    cfg_file.write_text(text)
    cfg = load_train_config(cfg_file)
    assert [d.path for d in cfg.datasets] == [str(elsewhere), str(tmp_path / "cfgs" / "demos" / "gripper")]

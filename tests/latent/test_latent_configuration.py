"""Config files: every shipped YAML builds its model; typos, wrong types and bad values are named errors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from lad_core.errors import ConfigError
from lad_core.latent.configuration import config_from_mapping, load_config
from lad_core.latent.modeling import LatentActionModel
from lad_core.paths import resource

from latent_helpers import tiny_mapping

SHIPPED = sorted(resource("configs", "latent").glob("*.yaml"))


def test_the_paper_and_cpu_configs_are_shipped():
    names = {p.stem for p in SHIPPED}
    assert {"paper_human_faive_gripper", "paper_mimic_gripper", "cpu_all", "cpu_mimic_gripper"} <= names


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_each_shipped_config_builds(path):
    cfg = load_config(path)
    model = LatentActionModel.from_config(cfg.model)
    assert model.embodiments == cfg.model.modalities
    assert cfg.pairs_path().suffix == ".h5" and cfg.stage1.epochs > 0 and cfg.stage2.epochs > 0


def test_paper_hyperparameters():
    p1 = load_config(resource("configs", "latent", "paper_human_faive_gripper.yaml"))
    assert (p1.model.latent_dim, p1.stage1.batch_size, p1.stage1.lr, p1.stage1.weight_decay) == (128, 4096, 1e-3, 1e-4)
    assert (p1.temperature.start, p1.temperature.end, p1.stage1.epochs, p1.stage2.epochs) == (0.4, 0.2, 300, 50)
    assert [p1.model.hidden_for(m) for m in ("human", "faive", "gripper")] == [[64], [24], [24]]
    p2 = load_config(resource("configs", "latent", "paper_mimic_gripper.yaml"))
    assert (p2.model.latent_dim, p2.model.hidden, p2.stage1.batch_size) == (16, [32, 128, 128, 32], 16384)
    assert (p2.stage1.optimizer, p2.stage1.lr, p2.stage1.weight_decay) == ("adamw", 1e-5, 1e-3)
    assert (p2.temperature.start, p2.temperature.end, p2.stage1.epochs, p2.stage2.epochs) == (0.25, 0.16, 5000, 10000)


def _write(tmp_path, data):
    path = tmp_path / "cfg.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("change, field, words", [
    ({"stage1": {"epocs": 3}}, "stage1.epocs", "unknown key"),
    ({"stage1": {"lr": "fast"}}, "stage1.lr", "'fast'"),
    ({"stage2": {"optimizer": "sgd"}}, "stage2.optimizer", "'sgd'"),
    ({"temperature": {"start": -1}}, "temperature.start", "greater than 0"),
    ({"model": {"hidden": {"human": [8]}}}, "model", "missing"),
    ({"model": {"modalities": ["human", "robotarm"]}}, "model.modalities", "robotarm"),
    ({"model": {"modalities": ["mimic"]}}, "model.modalities", "at least 2"),
    ({"stage2": {"lr_schedule": "linear"}}, "stage2.lr_schedule", "'linear'"),
    ({"data": {"input_noise": {"humn": 0.1}}}, "data.input_noise", "humn"),
    ({"data": {"input_noise": {"human": -0.1}}}, "data.input_noise", ">= 0"),
    ({"stage2": {"cross_sources": ["human", "franka"]}}, "stage2.cross_sources", "franka"),
])
def test_bad_configs_name_file_and_field(tmp_path, tiny_pairs, change, field, words):
    data = tiny_mapping(tiny_pairs, **change)
    path = _write(tmp_path, data)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    msg = str(err.value)
    assert str(path) in msg and field in msg and words in msg


def test_missing_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "none.yaml")


def test_temperature_anneals_exponentially_and_ablation_keeps_the_end_value(tiny_pairs):
    cfg = config_from_mapping(tiny_mapping(tiny_pairs))
    t = cfg.temperature
    assert t.at(0.0) == pytest.approx(0.4) and t.at(1.0) == pytest.approx(0.2)
    assert t.at(0.5) == pytest.approx(math.sqrt(0.4 * 0.2))  # geometric mean halfway
    flat = cfg.with_changes(temperature={"anneal": False}).temperature
    assert flat.at(0.0) == flat.at(0.7) == pytest.approx(0.2)
    assert cfg.temperature.anneal  # with_changes returned a new config


def test_cosine_schedule_decays_from_lr_to_its_floor_and_constant_stays(tiny_pairs):
    cfg = config_from_mapping(tiny_mapping(tiny_pairs, stage2={"lr_schedule": "cosine", "min_lr_scale": 0.1}))
    s2 = cfg.stage2
    factors = [s2.lr_factor(p) for p in np.linspace(0.0, 1.0, 11)]
    assert factors[0] == pytest.approx(1.0) and factors[-1] == pytest.approx(0.1)
    assert factors[5] == pytest.approx(0.55)  # halfway: the mean of start and floor
    assert all(a > b for a, b in zip(factors, factors[1:]))
    assert cfg.stage1.lr_schedule == "constant" and cfg.stage1.lr_factor(0.9) == 1.0  # the paper's default


def test_relative_pairs_path_resolves_against_the_yaml(tmp_path, tiny_pairs):
    data = tiny_mapping(tiny_pairs)
    data["data"]["pairs"] = "sub/p.h5"
    cfg = load_config(_write(tmp_path, data))
    assert cfg.pairs_path() == tmp_path / "sub" / "p.h5"

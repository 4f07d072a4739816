"""Fixtures of the latent-space tests: a small synthetic pairs file and a tiny config that trains in seconds."""

from __future__ import annotations

from pathlib import Path

import pytest

from latent_helpers import COMMITTED_MODEL, tiny_mapping


@pytest.fixture(scope="session")
def tiny_pairs(tmp_path_factory) -> Path:
    """1,500 synthetic tuples (human, faive, mimic, gripper), made once per session."""
    from lad_core.latent.pairs import make_pairs, synthetic_source

    path = tmp_path_factory.mktemp("latent") / "pairs.h5"
    make_pairs(synthetic_source(1500, seed=7), path, chunk=500)
    return path


@pytest.fixture(scope="session")
def tiny_config(tiny_pairs):
    from lad_core.latent.configuration import config_from_mapping

    return config_from_mapping(tiny_mapping(tiny_pairs))


@pytest.fixture(scope="session")
def trained_tiny(tiny_config, tmp_path_factory):
    """One tiny training run shared by the tests that only read its outputs."""
    from lad_core.latent.training import train

    return train(tiny_config, tmp_path_factory.mktemp("tiny_run"), resume=False)


@pytest.fixture(scope="session")
def committed_model():
    from lad_core.latent.checkpoint import load_model

    if not COMMITTED_MODEL.exists():
        pytest.fail(f"the committed latent checkpoint is missing: {COMMITTED_MODEL}")
    return load_model(COMMITTED_MODEL)

"""Paired data (Eq. 1): values equal direct retargeting, provenance, and clear errors for bad files."""

from __future__ import annotations

import json
import shutil

import h5py
import numpy as np
import pytest

from lad_core.embodiments.human import encode_pose
from lad_core.errors import InputError
from lad_core.latent.pairs import array_source, file_source, load_pairs, make_pairs
from lad_core.latent.sampler import FAMILIES, measured_geometry
from lad_core.retarget import RetargetConfig, build_retargeter


def test_tuples_equal_direct_retargeting_of_real_poses(real_pose_sequence, tmp_path):
    poses = real_pose_sequence[::20].astype(np.float64)  # 32 real frames
    out = make_pairs(array_source(poses, "real"), tmp_path / "real.h5", chunk=10)
    assert out.count == len(poses) and out.rate > 0
    pairs = load_pairs(out.path)
    assert pairs.modalities == ["human", "faive", "mimic", "gripper"]
    np.testing.assert_allclose(pairs.data["human"], encode_pose(poses), atol=1e-6)
    assert pairs.attrs["retarget"] == RetargetConfig.converged().model_dump()
    for name in ("faive", "mimic", "gripper"):
        direct = build_retargeter(name, config=RetargetConfig.converged()).retarget_batch(poses)
        np.testing.assert_allclose(pairs.data[name], direct, atol=1e-5)
    assert (pairs.family == -1).all()


def test_provenance_records_source_scales_and_software(tiny_pairs):
    pairs = load_pairs(tiny_pairs)
    a = pairs.attrs
    assert a["source"]["kind"] == "synthetic" and a["source"]["n"] == 1500 and a["source"]["seed"] == 7
    assert set(a["source"]["sampler"]["families"]) <= set(FAMILIES)
    assert a["source"]["sampler"]["geometry"] == "measured"  # the hand proportions drawn from are stored too
    np.testing.assert_allclose(a["source"]["geometry"]["lengths_centre"], measured_geometry()["lengths_centre"])
    np.testing.assert_allclose(a["scales"]["mimic"], build_retargeter("mimic").scales)
    assert a["scales"]["gripper"] is None
    assert a["software"]["lad"] and a["dims"] == {"human": 189, "faive": 11, "mimic": 16, "gripper": 1}
    assert pairs.family.min() >= 0 and len(np.unique(pairs.family)) == len(FAMILIES)
    assert 0.0 <= pairs.data["gripper"].min() and pairs.data["gripper"].max() <= 1.0


def test_selected_modalities_are_read_and_a_missing_one_is_named(tiny_pairs, tmp_path):
    sub = load_pairs(tiny_pairs, ["mimic", "gripper"])
    assert sub.modalities == ["mimic", "gripper"] and len(sub) == 1500
    path = tmp_path / "hm.h5"
    make_pairs(array_source(_few_poses()), path, ["human", "mimic"])
    with pytest.raises(InputError, match=r"hm\.h5: missing modality \['faive'\]"):
        load_pairs(path, ["human", "faive", "mimic"])


def _few_poses():
    from lad_core.latent.sampler import SyntheticPoseSampler

    return SyntheticPoseSampler().sample(20, seed=2).landmarks


def test_nan_in_a_file_is_reported_with_modality_and_row(tiny_pairs, tmp_path):
    bad = tmp_path / "nan.h5"
    shutil.copy(tiny_pairs, bad)
    with h5py.File(bad, "r+") as f:
        f["mimic"][12, 3] = np.nan
    with pytest.raises(InputError, match=r"nan\.h5: modality 'mimic' has 1 NaN/inf values .*\[12\]"):
        load_pairs(bad)


def test_nan_landmarks_are_refused_before_writing(tmp_path):
    poses = _few_poses()
    poses[3, 5, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        make_pairs(array_source(poses, "poses.npy"), tmp_path / "x.h5")
    assert not (tmp_path / "x.h5").exists()


def test_incomplete_foreign_and_missing_files(tiny_pairs, tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_pairs(tmp_path / "nope.h5")
    partial = tmp_path / "p.h5"
    shutil.copy(tiny_pairs, partial)
    with h5py.File(partial, "r+") as f:
        f.attrs["complete"] = False
    with pytest.raises(InputError, match="incomplete"):
        load_pairs(partial)
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["human"] = np.zeros((3, 189))
    with pytest.raises(InputError, match="not a latent pairs file"):
        load_pairs(foreign)
    text = tmp_path / "t.h5"
    text.write_text("hello")
    with pytest.raises(InputError, match="not a readable HDF5"):
        load_pairs(text)


def test_landmark_files(tmp_path, real_pose_sequence):
    from lad_core.tracking.recording import LandmarkWriter
    from lad_core.tracking.types import TrackedFrame

    npy = tmp_path / "lm.npy"
    np.save(npy, real_pose_sequence[:10])
    src = file_source(npy)
    assert src.total == 10 and src.describe["kind"] == "file"
    h5 = tmp_path / "rec.h5"  # a `lad track --out` recording: only frames with a hand become poses
    with LandmarkWriter(h5) as writer:
        for i, pose in enumerate(real_pose_sequence[:7]):
            present = i not in (2, 3)
            writer.append(TrackedFrame(index=i, timestamp=i / 30, present=present, lost=not present,
                                       time_since_loss=0.0, canonical=pose.astype(np.float64)))  # fmt: skip
    assert file_source(h5).total == 5
    foreign = tmp_path / "foreign.h5"
    with h5py.File(foreign, "w") as f:
        f["a/landmarks"] = real_pose_sequence[:4]
    with pytest.raises(InputError, match="not a LAD landmark recording"):
        file_source(foreign)
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((4, 20, 3)))
    with pytest.raises(InputError, match=r"bad\.npy: expected an \(N, 21, 3\) array"):
        file_source(bad)
    with pytest.raises(InputError, match="not a readable HDF5"):
        file_source(_touch(tmp_path / "x.csv"))


def _touch(p):
    p.write_text("1")
    return p


def test_pairs_need_the_human_modality(tmp_path):
    with pytest.raises(InputError, match="human"):
        make_pairs(array_source(_few_poses()), tmp_path / "x.h5", ["faive", "gripper"])


def test_progress_callback_sees_every_chunk(tmp_path):
    seen = []
    make_pairs(array_source(_few_poses()), tmp_path / "x.h5", ["human", "gripper"], chunk=6, progress=seen.append)
    assert seen == [6, 12, 18, 20]
    attrs = load_pairs(tmp_path / "x.h5").attrs
    assert json.loads(json.dumps(attrs["modalities"])) == ["human", "gripper"]


def test_evaluation_retargets_as_the_models_pairs_were_made(trained_tiny):
    """Held-out targets compare a model with the retargeter of its own pairs: the converged mode for pairs made
    since it is recorded, the defaults for a model whose provenance predates the record (v6 and earlier)."""
    import copy

    from lad_core.latent.metrics import training_retargeter

    model = trained_tiny.model
    assert model.meta["provenance"]["retarget"] == RetargetConfig.converged().model_dump()
    assert training_retargeter(model, "faive").config == RetargetConfig.converged()
    old = copy.copy(model)
    old.meta = copy.deepcopy(model.meta)
    del old.meta["provenance"]["retarget"]
    r = training_retargeter(old, "mimic")
    assert r.config == RetargetConfig()
    np.testing.assert_allclose(r.scales, model.meta["provenance"]["scales"]["mimic"])


def test_unusable_retarget_settings_in_a_models_provenance_are_a_clear_error(trained_tiny):
    import copy

    from lad_core.latent.metrics import training_retargeter

    model = copy.copy(trained_tiny.model)
    model.meta = copy.deepcopy(trained_tiny.model.meta)
    model.meta["provenance"]["retarget"]["warm_start"] = "learned"  # a setting of some later version
    with pytest.raises(InputError, match="retargeting settings this version cannot use.*warm_start"):
        training_retargeter(model, "mimic")

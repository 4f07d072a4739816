import h5py
import numpy as np
import pytest

from lad_core.cli.main import main


def test_lad_retarget_writes_aligned_tuples(tmp_path, real_pose_sequence, capsys):
    src = tmp_path / "poses.npy"
    np.save(src, real_pose_sequence[::20])
    out = tmp_path / "pairs.h5"
    assert main(["retarget", str(src), "--to", "mimic,gripper", "--out", str(out)]) == 0
    n = len(real_pose_sequence[::20])
    with h5py.File(out) as f:
        assert f["human"].shape == (n, 189) and f["mimic"].shape == (n, 16) and f["gripper"].shape == (n, 1)
        assert f.attrs["source"] == str(src) and f.attrs["software_version"]
        assert len(f["mimic"].attrs["keyvector_scales"]) == 15
        assert list(f["mimic"].attrs["joint_names"])[:2] == ["thumb_cmc", "thumb_mcp"]
    assert not (tmp_path / "pairs.h5.partial").exists()


def test_lad_retarget_converged_mode_is_recorded_and_matches_the_library(tmp_path, real_pose_sequence, capsys):
    import json

    from lad_core.retarget import RetargetConfig, build_retargeter

    src = tmp_path / "poses.npy"
    np.save(src, real_pose_sequence[::20])
    out = tmp_path / "pairs.h5"
    assert main(["retarget", str(src), "--to", "faive", "--out", str(out), "--converged"]) == 0
    with h5py.File(out) as f:
        assert json.loads(f.attrs["retarget"]) == RetargetConfig.converged().model_dump()
        direct = build_retargeter("faive", config=RetargetConfig.converged()).retarget_batch(real_pose_sequence[::20])
        np.testing.assert_allclose(f["faive"][()], direct, atol=1e-9)


@pytest.mark.parametrize(
    "content, message",
    [(np.zeros((5, 20, 3)), "21, 3"), (np.full((3, 21, 3), np.nan), "NaN"), (None, "file not found")],
)
def test_lad_retarget_bad_input_is_a_clear_error(tmp_path, capsys, content, message):
    src = tmp_path / "bad.npy"
    if content is not None:
        np.save(src, content)
    assert main(["retarget", str(src), "--out", str(tmp_path / "x.h5")]) == 2
    err = capsys.readouterr().err
    assert "bad.npy" in err and message in err
    assert not (tmp_path / "x.h5").exists()


def test_lad_embodiments_lists_builtins(capsys):
    assert main(["embodiments"]) == 0
    out = capsys.readouterr().out
    for name in ("human", "faive", "mimic", "gripper"):
        assert name in out


def test_unknown_embodiment_in_cli(tmp_path, real_pose_sequence, capsys):
    src = tmp_path / "p.npy"
    np.save(src, real_pose_sequence[:3])
    assert main(["retarget", str(src), "--to", "shadow", "--out", str(tmp_path / "x.h5")]) == 2
    assert "unknown embodiment 'shadow'" in capsys.readouterr().err

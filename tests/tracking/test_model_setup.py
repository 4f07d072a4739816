"""The hand model file: assembly from a wheel, verification, clear errors, idempotence."""

from __future__ import annotations

import time
import zipfile

import pytest

from lad_core.tracking import model_setup
from lad_core.tracking.model_setup import HandModelError, assemble_from_wheel, ensure_model, verify_model


def _fake_wheel(tmp_path, model):
    """A zip laid out like the mediapipe 0.10.21 wheel, holding the real model bytes."""
    wheel = tmp_path / "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl"
    with zipfile.ZipFile(model) as src, zipfile.ZipFile(wheel, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for member, (wheel_path, _) in model_setup.MEMBERS.items():
            dst.writestr(wheel_path, src.read(member))
        dst.writestr("mediapipe/__init__.py", "")
    return wheel


def test_cache_dir_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("LAD_CACHE_DIR", str(tmp_path / "c"))
    assert model_setup.default_model_path() == tmp_path / "c" / "hand_landmarker.task"


def test_assembled_file_is_stored_zip_with_both_members(hand_model, tmp_path):
    out = assemble_from_wheel(_fake_wheel(tmp_path, hand_model), tmp_path / "m" / "hand_landmarker.task")
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["hand_detector.tflite", "hand_landmarks_detector.tflite"]
        assert all(info.compress_type == zipfile.ZIP_STORED for info in zf.infolist())
    assert verify_model(out) == out
    assert not list(out.parent.glob("*.part"))


def test_ensure_model_is_idempotent_and_does_not_download(hand_model, monkeypatch, tmp_path):
    target = assemble_from_wheel(_fake_wheel(tmp_path, hand_model), tmp_path / "hand_landmarker.task")

    def no_download(dest):
        raise AssertionError("must not download when the model is valid")

    monkeypatch.setattr(model_setup, "_download_wheel", no_download)
    start = time.perf_counter()
    assert ensure_model(target) == target
    assert time.perf_counter() - start < 1.0


def test_corrupt_model_is_rebuilt_from_the_wheel(hand_model, monkeypatch, tmp_path):
    wheel = _fake_wheel(tmp_path, hand_model)
    target = tmp_path / "cache" / "hand_landmarker.task"
    target.parent.mkdir()
    target.write_bytes(b"not a zip")
    calls = []

    def fake_download(dest):
        calls.append(dest)
        return wheel

    monkeypatch.setattr(model_setup, "_download_wheel", fake_download)
    assert ensure_model(target) == target and len(calls) == 1
    assert verify_model(target) == target


@pytest.mark.parametrize("damage", ["missing", "garbage", "truncated", "wrong_member", "flipped_byte"])
def test_bad_model_gives_one_clear_error(hand_model, tmp_path, damage):
    path = tmp_path / "hand_landmarker.task"
    data = hand_model.read_bytes()
    if damage == "garbage":
        path.write_bytes(b"\x00" * 100)
    elif damage == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "wrong_member":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("hand_detector.tflite", b"x")
    elif damage == "flipped_byte":
        blob = bytearray(data)
        blob[len(blob) // 2] ^= 0xFF
        path.write_bytes(bytes(blob))
    with pytest.raises(HandModelError) as info:
        verify_model(path)
    message = str(info.value)
    assert str(path) in message and "python -m lad_core.tracking.model_setup" in message


def test_detector_with_corrupt_model_fails_fast(tmp_path):
    from lad_core.tracking.mediapipe_adapter import MediaPipeHandDetector

    path = tmp_path / "hand_landmarker.task"
    path.write_bytes(b"corrupt")
    start = time.perf_counter()
    with pytest.raises(HandModelError, match="hand_landmarker.task"):
        MediaPipeHandDetector(path)
    assert time.perf_counter() - start < 2.0


def test_check_command_exit_codes(hand_model, tmp_path, capsys):
    assert model_setup.main(["--check", "--path", str(hand_model)]) == 0
    assert model_setup.main(["--check", "--path", str(tmp_path / "none.task")]) == 1
    assert "file not found" in capsys.readouterr().err

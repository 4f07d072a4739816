"""The MediaPipe hand model (`hand_landmarker.task`): where it lives, how it is assembled, how it is checked.

Current `mediapipe` wheels ship no model. A `hand_landmarker.task` file is an uncompressed (ZIP_STORED) zip of two
TFLite members, `hand_detector.tflite` (palm detection, full) and `hand_landmarks_detector.tflite` (landmarks, full).
The `mediapipe==0.10.21` wheel on the package registry carries both, byte-identical to the official Tasks assets, so
the default route downloads that wheel with pip (no install) and repacks the two members. Where a user has internet
the official file may be fetched instead (`--source url`).

The file goes to a per-user cache directory: `$LAD_CACHE_DIR` when set, else the platform cache folder
(`~/.cache/lad` on Linux). Run `python -m lad_core.tracking.model_setup` (or `make model`); it is idempotent and
returns at once when a verified model is already there.

This module imports nothing heavy at top level: checking the model must not cost a mediapipe import.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from lad_core.errors import LadError

log = logging.getLogger(__name__)

MODEL_FILENAME = "hand_landmarker.task"
FIX_COMMAND = "python -m lad_core.tracking.model_setup  (or: make model)"

WHEEL_SPEC = "mediapipe==0.10.21"
OFFICIAL_URL = (
    "https://storage.googleapis.com/mediapipe-models/hand_landmarker/hand_landmarker/float16/latest/hand_landmarker.task"
)

# member name in the .task -> (path inside the 0.10.21 wheel, sha256 of the bytes)
MEMBERS: dict[str, tuple[str, str]] = {
    "hand_detector.tflite": (
        "mediapipe/modules/palm_detection/palm_detection_full.tflite",
        "1b14e9422c6ad006cde6581a46c8b90dd573c07ab7f3934b5589e7cea3f89a54",
    ),
    "hand_landmarks_detector.tflite": (
        "mediapipe/modules/hand_landmark/hand_landmark_full.tflite",
        "11c272b891e1a99ab034208e23937a8008388cf11ed2a9d776ed3d01d0ba00e3",
    ),
}


class HandModelError(LadError):
    """The hand model file is missing, unreadable or not a valid `hand_landmarker.task`."""

    def __init__(self, path: str | Path, problem: str):
        self.path = Path(path)
        super().__init__(f"hand model {self.path}: {problem}. Fix it with: {FIX_COMMAND}")


def cache_dir() -> Path:
    """The per-user cache folder for LAD (``$LAD_CACHE_DIR`` overrides the platform default)."""
    override = os.environ.get("LAD_CACHE_DIR")
    if override:
        return Path(override).expanduser()
    try:
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("lad", appauthor=False))
    except ImportError:  # platformdirs is a near-universal transitive dependency; fall back to XDG rules
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "lad"


def default_model_path() -> Path:
    return cache_dir() / MODEL_FILENAME


def verify_model(path: str | Path | None = None, *, strict_hashes: bool = True) -> Path:
    """Check that `path` is a usable `hand_landmarker.task`; return the path or raise `HandModelError`.

    The check reads the zip directory and hashes both members (about 8 MB, a few tens of milliseconds). With
    ``strict_hashes=False`` (files fetched from the official URL, which may be re-released) only the structure is
    checked and a hash mismatch is logged.
    """
    path = Path(path) if path is not None else default_model_path()
    if not path.exists():
        raise HandModelError(path, "file not found")
    if not path.is_file():
        raise HandModelError(path, "is not a regular file")
    try:
        with zipfile.ZipFile(path) as zf:
            names = set(zf.namelist())
            missing = sorted(set(MEMBERS) - names)
            if missing:
                raise HandModelError(path, f"not a hand_landmarker.task: members {missing} are missing")
            for member, (_, expected) in MEMBERS.items():
                info = zf.getinfo(member)
                if info.file_size == 0:
                    raise HandModelError(path, f"member {member} is empty")
                digest = hashlib.sha256(zf.read(member)).hexdigest()
                if digest != expected:
                    if strict_hashes:
                        raise HandModelError(path, f"member {member} is corrupt (sha256 {digest[:12]}..., expected {expected[:12]}...)")
                    log.warning("%s: member %s differs from the known 0.10.21 asset (sha256 %s)", path, member, digest[:12])
    except HandModelError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, KeyError) as exc:
        raise HandModelError(path, f"not a readable zip archive ({exc})") from exc
    return path


def _download_wheel(dest: Path) -> Path:
    """`pip download` the mediapipe 0.10.21 wheel (no deps, no install) into `dest` and return its path."""
    cmd = [
        sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:",
        "--python-version", "3.11", "--platform", "manylinux_2_28_x86_64", WHEEL_SPEC, "-d", str(dest),
    ]  # fmt: skip
    log.info("downloading %s from the package registry (no install)", WHEEL_SPEC)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob("mediapipe-0.10.21-*.whl"))
    if proc.returncode != 0 or not wheels:
        tail = (proc.stderr or proc.stdout or "").strip().splitlines()[-3:]
        raise LadError(f"could not download {WHEEL_SPEC} with pip (exit {proc.returncode}): {' | '.join(tail)}")
    return wheels[0]


def assemble_from_wheel(wheel: str | Path, out: str | Path) -> Path:
    """Repack the two full hand models of a mediapipe 0.10.21 wheel into a ZIP_STORED `.task` file at `out`.

    The write is atomic (temporary name, then rename), so an interrupted run never leaves a half file behind.
    """
    wheel, out = Path(wheel), Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with zipfile.ZipFile(wheel) as wz:
            blobs = {member: wz.read(src) for member, (src, _) in MEMBERS.items()}
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise LadError(f"{wheel}: not a mediapipe 0.10.21 wheel with the hand models ({exc})") from exc
    for member, blob in blobs.items():
        digest = hashlib.sha256(blob).hexdigest()
        if digest != MEMBERS[member][1]:
            raise LadError(f"{wheel}: {MEMBERS[member][0]} has sha256 {digest}, expected {MEMBERS[member][1]}")
    fd, tmp_name = tempfile.mkstemp(prefix=".hand_landmarker.", suffix=".part", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED) as zf:
            for member, blob in blobs.items():
                zf.writestr(zipfile.ZipInfo(member, date_time=(2025, 1, 1, 0, 0, 0)), blob, compress_type=zipfile.ZIP_STORED)
        tmp.chmod(0o644)  # mkstemp makes 0600; the model is not a secret
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out


def _download_official(out: Path) -> Path:
    import urllib.request

    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".hand_landmarker.", suffix=".part", dir=out.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        log.info("downloading %s", OFFICIAL_URL)
        with urllib.request.urlopen(OFFICIAL_URL, timeout=60) as resp, open(tmp, "wb") as fh:
            fh.write(resp.read())
        verify_model(tmp, strict_hashes=False)
        os.replace(tmp, out)
    except OSError as exc:
        raise LadError(f"could not download the official hand model from {OFFICIAL_URL}: {exc}") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return out


def ensure_model(path: str | Path | None = None, *, source: str = "registry", force: bool = False) -> Path:
    """Return a verified model path, assembling the model first when it is missing or corrupt (idempotent)."""
    path = Path(path) if path is not None else default_model_path()
    if not force:
        try:
            return verify_model(path, strict_hashes=(source == "registry"))
        except HandModelError as exc:
            if path.exists():
                log.warning("%s; rebuilding it", exc)
    if source == "url":
        return _download_official(path)
    if source != "registry":
        raise LadError(f"unknown model source {source!r}: use 'registry' or 'url'")
    with tempfile.TemporaryDirectory(prefix="lad-mediapipe-wheel-") as tmp:
        wheel = _download_wheel(Path(tmp))
        assemble_from_wheel(wheel, path)
    return verify_model(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lad_core.tracking.model_setup",
        description="Assemble and verify the MediaPipe hand model (hand_landmarker.task) in the per-user cache.",
    )
    parser.add_argument("--path", type=Path, default=None, help=f"where the model goes (default: {default_model_path()})")
    parser.add_argument("--source", choices=("registry", "url"), default="registry",
                        help="registry: repack from the mediapipe 0.10.21 wheel (default); url: official download")
    parser.add_argument("--force", action="store_true", help="rebuild even when a valid model is present")
    parser.add_argument("--check", action="store_true", help="only verify; exit 1 when missing or corrupt")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.check:
            path = verify_model(args.path)
        else:
            path = ensure_model(args.path, source=args.source, force=args.force)
    except LadError as exc:
        print(f"model_setup: error: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

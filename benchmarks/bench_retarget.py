"""Retargeting speed and quality on the real pose sequence, against dex-retargeting 0.5.0 in the same run.

    .venv/bin/python benchmarks/bench_retarget.py [--batch-poses 20000] [--out result.json]

Prints one JSON line. Both solvers get the same URDF, the same 15 keyvectors (palm->tip, tip<->tip), the same
per-keyvector scales and the same 621 poses (../shared/data/poses/right_hand_video_sequence/joints.npy).
Batched mode is measured twice: the fast default and the converged mode that paired latent data is made with.
dex-retargeting's vector optimizer has one global scale, so it is given the human keyvectors already divided by
our per-keyvector scales; its couplings come from <mimic> tags we add to a temporary copy of the URDF. Energies of
both are measured with our Eq. 2 energy sum_i ||v_i^H - s_i v_i^R(q)||^2 (m^2). Streaming runs single-threaded.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # streaming timings are single-threaded, as for the peer

import argparse
import json
import platform
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
POSES = REPO.parent / "shared" / "data" / "poses" / "right_hand_video_sequence" / "joints.npy"


def machine() -> dict:
    import multiprocessing

    return {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
            "cpus": multiprocessing.cpu_count(), "python": sys.version.split()[0], "numpy": np.__version__}  # fmt: skip


def stats(times: list[float]) -> dict:
    ms = np.asarray(times) * 1e3
    return {"median_ms": round(float(np.median(ms)), 4), "p99_ms": round(float(np.percentile(ms, 99)), 4)}


def quality(retargeter, poses, q) -> dict:
    lo, hi = retargeter.kin.lower, retargeter.kin.upper
    excess = np.maximum(lo - q, q - hi)
    return {
        "mean_energy_m2": float(retargeter.energy(poses, q).mean()),
        "limit_violations": int((excess > 1e-6).sum()),  # joint values more than 1 microradian outside
        "max_limit_excess_rad": float(max(excess.max(), 0.0)),
        "mean_abs_joint_change_rad": float(np.abs(np.diff(q, axis=0)).mean()),
    }


def ours_batched(r, poses: np.ndarray, batch_poses: int) -> dict:
    """Batched retargeting of `batch_poses` poses (the sequence tiled, with 2 mm noise); chunks run on 2 threads."""
    r.retarget_batch(poses[:8])  # builds the warm-start codebook once (about a second), as any first call does
    reps = int(np.ceil(batch_poses / len(poses)))
    noise = np.random.default_rng(0).normal(scale=0.002, size=(reps * len(poses), 21, 3))
    big = (np.tile(poses, (reps, 1, 1)) + noise)[:batch_poses]
    t0 = time.perf_counter()
    q_batch = r.retarget_batch(big)
    batch_s = time.perf_counter() - t0
    return {"poses_per_s": round(batch_poses / batch_s, 1), "poses": batch_poses, **quality(r, big[: len(poses)], q_batch[: len(poses)])}


def steadiness(r, poses: np.ndarray) -> dict:
    """How far the batched answer moves under 0.5 mm of landmark noise: mean fingertip change and the share of
    frames whose fingertips move by more than 5 mm (a jump to another minimum of Eq. 2)."""
    from lad_core.latent.metrics import fingertips_m

    noisy = poses + np.random.default_rng(1).normal(scale=0.0005, size=poses.shape)
    a, b = r.retarget_batch(poses), r.retarget_batch(noisy)
    moved = np.linalg.norm(fingertips_m(r.spec.name, a) - fingertips_m(r.spec.name, b), axis=-1).mean(-1) * 1000
    return {"noise_0p5mm_mean_tip_change_mm": round(float(moved.mean()), 3),
            "noise_0p5mm_frames_over_5mm": round(float((moved > 5.0).mean()), 4)}


def urdf_with_mimic_tags(spec, kin) -> tuple[Path, list[str]]:
    """A copy of the URDF where each coupled joint mimics the first URDF joint its actuated joint drives 1:1."""
    tree = ET.parse(spec.urdf_path)
    driver = {}  # actuated name -> URDF joint that carries it
    for a, name in enumerate(spec.joint_names):
        column = kin.coupling[:, a]
        driver[name] = kin.tree.joint_names[int(np.flatnonzero(np.isclose(column, 1.0) | (column != 0))[0])]
    for joint in tree.getroot().iter("joint"):
        jname = joint.get("name")
        rows = np.flatnonzero(kin.coupling[kin.tree.joint_names.index(jname)]) if jname in kin.tree.joint_names else []
        if len(rows) != 1:
            continue
        src = spec.joint_names[rows[0]]
        if driver[src] == jname:
            continue
        mult = kin.coupling[kin.tree.joint_names.index(jname), rows[0]] / kin.coupling[kin.tree.joint_names.index(driver[src]), rows[0]]
        ET.SubElement(joint, "mimic", joint=driver[src], multiplier=f"{mult:.6g}", offset="0")
    out = Path(tempfile.mkdtemp()) / spec.urdf_path.name
    tree.write(out)
    return out, [driver[n] for n in spec.joint_names]


def dex_retargeter(r):
    from dex_retargeting.retargeting_config import RetargetingConfig

    from lad_core.kinematics.keyvectors import KEYVECTOR_MATRIX

    spec = r.spec
    urdf, driver_joints = urdf_with_mimic_tags(spec, r.kin)
    points = [spec.palm_link, *spec.fingertip_links]
    origin = [points[int(np.flatnonzero(row == -1)[0])] for row in KEYVECTOR_MATRIX]
    task = [points[int(np.flatnonzero(row == 1)[0])] for row in KEYVECTOR_MATRIX]
    config = RetargetingConfig(
        type="vector", urdf_path=str(urdf), target_origin_link_names=origin, target_task_link_names=task,
        target_link_human_indices=np.zeros((2, len(origin)), dtype=int), scaling_factor=1.0, low_pass_alpha=1.0,
        target_joint_names=driver_joints,
    )  # fmt: skip
    seq = config.build()
    return seq, [seq.joint_names.index(j) for j in driver_joints]


def streaming(name: str, poses: np.ndarray) -> dict:
    """Both streaming retargeters, interleaved frame by frame so that both see the same machine load."""
    from lad_core.kinematics import human_keyvectors
    from lad_core.retarget import build_retargeter

    r = build_retargeter(name)
    seq, order = dex_retargeter(r)
    targets = human_keyvectors(poses) / r.scales[:, None]  # dex's single scale: pre-divide by ours
    r.step(poses[0]), seq.retarget(targets[0])  # warm up, then start both cold
    r.reset(), seq.reset()
    t_lad, t_dex, q_lad, q_dex = [], [], [], []
    for frame, target in zip(poses, targets):
        t0 = time.perf_counter()
        q_lad.append(r.step(frame).qpos)
        t1 = time.perf_counter()
        q_dex.append(seq.retarget(target)[order])
        t2 = time.perf_counter()
        t_lad.append(t1 - t0)
        t_dex.append(t2 - t1)
    return r, {
        "lad": {**stats(t_lad), **quality(r, poses, np.array(q_lad))},
        "dex_retargeting_0.5.0": {**stats(t_dex), **quality(r, poses, np.array(q_dex))},
        "median_ratio_lad_over_dex": round(float(np.median(t_lad) / np.median(t_dex)), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--batch-poses", type=int, default=20000)
    parser.add_argument("--robots", default="mimic,faive")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if not POSES.exists():
        sys.exit(f"bench_retarget: the real pose sequence is needed: {POSES}")
    from lad_core.retarget import RetargetConfig, build_retargeter

    poses = np.load(POSES).astype(np.float64)
    result = {"benchmark": "retarget", "poses": len(poses), "machine": machine(), "robots": {}}
    for name in args.robots.split(","):
        r, stream = streaming(name, poses)
        converged = build_retargeter(name, config=RetargetConfig.converged())
        result["robots"][name] = {
            "streaming": stream,
            "batched_lad": {**ours_batched(r, poses, args.batch_poses), **steadiness(r, poses)},
            # the mode paired latent data is made with (RetargetConfig.converged())
            "batched_lad_converged": {**ours_batched(converged, poses, args.batch_poses), **steadiness(converged, poses)},
            "scales": [round(float(s), 4) for s in r.scales],
        }
    line = json.dumps(result)
    print(line)
    if args.out:
        args.out.write_text(line + "\n")


if __name__ == "__main__":
    main()

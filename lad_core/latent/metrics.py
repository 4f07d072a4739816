"""Validation metrics of a latent action model (paper Sec. 4.1, Table 1) and the gripper sweep of Fig. 3.

For modalities i, j and paired validation tuples:

- ``loss[i->j]``: MSE in normalized units of decode_j(encode_i(x_i)) against x_j (i == j: self-reconstruction SR,
  i != j: cross-reconstruction CR). This is the full CR matrix; it is what Table 1 reports.
- ``mae[i->j]``: mean absolute error in joint units (rad; theta_H units for the human; normalized width for the
  gripper).
- ``mm[i->j]``: mean fingertip position error in millimetres through forward kinematics (robot hands: URDF
  fingertips; human: theta_H forward kinematics; gripper: width error times the human width W of Eq. 3).
- ``top1[i->j]`` (i != j): cross-modal retrieval: in blocks of ``retrieval_block`` tuples, the fraction whose
  nearest j-latent (dot product) to the i-latent is its own pair.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch


def fingertips_m(embodiment: str, x: np.ndarray) -> np.ndarray | None:
    """(N, D) actions -> (N, 5, 3) fingertip positions in metres, or None for a gripper (no fingertips)."""
    from lad_core.embodiments import get

    spec = get(embodiment)
    if spec.kind == "human":
        from lad_core.embodiments.human import FINGERTIPS, decode_pose

        return decode_pose(np.asarray(x, dtype=np.float64))[..., list(FINGERTIPS), :]
    if spec.kind == "gripper":
        return None
    from lad_core.kinematics import load_kinematics

    return load_kinematics(embodiment).fingertips(np.asarray(x, dtype=np.float64))


def position_error_mm(embodiment: str, pred: np.ndarray, true: np.ndarray) -> float:
    """Mean fingertip error in mm (gripper: width error x W in mm)."""
    from lad_core.embodiments import get

    spec = get(embodiment)
    if spec.kind == "gripper":
        return float(np.abs(pred - true).mean() * spec.gripper.human_width_m * 1000.0)
    a, b = fingertips_m(embodiment, pred), fingertips_m(embodiment, true)
    return float(np.linalg.norm(a - b, axis=-1).mean() * 1000.0)


@torch.no_grad()
def evaluate(model, data: Mapping[str, np.ndarray], pairs: Sequence[tuple[str, str]] | None = None,
             retrieval_block: int = 1024, fingertips: bool = True, batch: int = 8192) -> dict:
    """The metrics above for every ordered pair of the model's modalities present in `data` (or `pairs`)."""
    was_training = model.training
    model.eval()
    mods = [m for m in model.embodiments if m in data]
    pairs = list(pairs) if pairs is not None else [(i, j) for i in mods for j in mods]
    n = len(data[mods[0]])
    latents = {m: np.concatenate([model.encode(m, data[m][s : s + batch]) for s in range(0, n, batch)]) for m in mods}
    out: dict = {"n": n, "loss": {}, "mae": {}, "mm": {}, "top1": {}}
    for i, j in pairs:
        key = f"{i}->{j}"
        pred = np.concatenate([model.decode(j, latents[i][s : s + batch]) for s in range(0, n, batch)])
        true = np.asarray(data[j], dtype=np.float32)
        norm = model.normalizers[j]
        diff = (torch.as_tensor(pred) - torch.as_tensor(true)) / norm.std
        out["loss"][key] = float((diff**2).mean())
        out["mae"][key] = float(np.abs(pred - true).mean())
        if fingertips:
            out["mm"][key] = position_error_mm(j, pred, true)
        if i != j:
            out["top1"][key] = retrieval_top1(latents[i], latents[j], retrieval_block)
    model.train(was_training)
    return out


def retrieval_top1(za: np.ndarray, zb: np.ndarray, block: int = 1024) -> float:
    """Fraction of rows whose most similar row of `zb` within its block of `block` rows is the paired one."""
    hits, total = 0, 0
    for s in range(0, len(za), block):
        a, b = za[s : s + block], zb[s : s + block]
        if len(a) < 2:
            continue
        hits += int((np.argmax(a @ b.T, axis=1) == np.arange(len(a))).sum())
        total += len(a)
    return hits / max(total, 1)


def sr_cr_summary(metrics: dict, key: str = "loss") -> dict:
    """Mean SR (i->i) and mean CR (i->j, i != j) of one metric table."""
    table = metrics[key]
    sr = [v for k, v in table.items() if k.split("->")[0] == k.split("->")[1]]
    cr = [v for k, v in table.items() if k.split("->")[0] != k.split("->")[1]]
    return {"sr": float(np.mean(sr)) if sr else float("nan"), "cr": float(np.mean(cr)) if cr else float("nan")}


def cr_matrix(metrics: dict, key: str = "loss") -> tuple[list[str], np.ndarray]:
    """(modalities, (M, M) matrix) with rows = encoded modality, columns = decoded modality."""
    names: list[str] = []
    for k in metrics[key]:
        for m in k.split("->"):
            if m not in names:
                names.append(m)
    mat = np.full((len(names), len(names)), np.nan)
    for k, v in metrics[key].items():
        i, j = k.split("->")
        mat[names.index(i), names.index(j)] = v
    return names, mat


def format_matrix(metrics: dict, key: str = "loss") -> str:
    names, mat = cr_matrix(metrics, key)
    head = "| enc \\ dec | " + " | ".join(names) + " |\n|" + "---|" * (len(names) + 1) + "\n"
    return head + "".join(f"| {a} | " + " | ".join(f"{v:.4g}" for v in row) + " |\n" for a, row in zip(names, mat))


# ---------------------------------------------------------------------------------------------- gripper sweep
def hand_aperture_mm(embodiment: str, x: np.ndarray) -> np.ndarray:
    """Eq. 3's quantity on a hand pose: the smallest thumb-tip to other-fingertip distance (mm), (N,)."""
    tips = fingertips_m(embodiment, x)
    if tips is None:
        raise ValueError(f"'{embodiment}' has no fingertips")
    return np.linalg.norm(tips[:, 1:] - tips[:, :1], axis=-1).min(axis=-1) * 1000.0


def gripper_sweep(model, targets: Sequence[str] | None = None, steps: int = 21) -> dict:
    """Decode widths 0 -> 1 from the gripper into each hand; report the aperture along the sweep.

    Returns ``{target: {"aperture_mm": [...], "spearman": rho, "max_drop_mm": d, "opening_mm": last - first}}``.
    """
    from scipy.stats import spearmanr

    widths = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    z = model.encode("gripper", widths)
    targets = [t for t in (targets or model.embodiments) if t != "gripper"]
    out = {}
    for t in targets:
        ap = hand_aperture_mm(t, model.decode(t, z))
        rho = float(spearmanr(np.arange(steps), ap).statistic)
        out[t] = {"aperture_mm": ap.round(2).tolist(), "spearman": rho,
                  "max_drop_mm": float(max(0.0, -np.diff(ap).min())), "opening_mm": float(ap[-1] - ap[0])}
    return out


def training_retargeter(model, target: str):
    """The retargeter that made the model's paired data: the scales and RetargetConfig in its provenance (models
    from before the config was recorded were made with the defaults)."""
    from lad_core.retarget import RetargetConfig, build_retargeter

    from pydantic import ValidationError

    from lad_core.errors import InputError

    prov = (model.meta or {}).get("provenance") or {}
    try:
        config = RetargetConfig(**prov["retarget"]) if prov.get("retarget") else RetargetConfig()
    except (TypeError, ValidationError) as exc:
        raise InputError(f"the model's provenance records retargeting settings this version cannot use "
                         f"({prov['retarget']}): {exc}") from None
    scales = (prov.get("scales") or {}).get(target)
    return build_retargeter(target, scales=scales, config=config)


def real_pose_targets(model, landmarks: np.ndarray, targets: Sequence[str] = ("mimic", "faive")) -> dict:
    """Held-out real poses: fingertip error (mm) of human -> target cross-reconstruction against direct retargeting
    (by the retargeter that made the model's training pairs), and the human self-reconstruction error. Robot
    targets absent from the model are skipped."""
    from lad_core.embodiments.human import encode_pose

    theta = encode_pose(landmarks).astype(np.float32)
    out: dict = {"n": len(theta)}
    if "human" in model.embodiments:
        out["human->human_mm"] = position_error_mm("human", model.cross("human", "human", theta), theta)
    for t in targets:
        if t not in model.embodiments or "human" not in model.embodiments:
            continue
        direct = training_retargeter(model, t).retarget_batch(landmarks)
        cross = model.cross("human", t, theta)
        per = np.linalg.norm(fingertips_m(t, cross) - fingertips_m(t, direct), axis=-1).mean(-1) * 1000.0
        out[f"human->{t}_mm"] = float(per.mean())
        out[f"human->{t}_mm_p95"] = float(np.percentile(per, 95))
        out[f"human->{t}_joint_mae_rad"] = float(np.abs(cross - direct).mean())
    return out


def width_aperture_relation(data: Mapping[str, np.ndarray], hands: Sequence[str] | None = None,
                            edges: Sequence[float] | None = None, min_count: int = 30) -> dict:
    """How the paired data tie each hand's aperture to the gripper width (the check behind the sweep of Fig. 3).

    For every hand in `data` (besides ``gripper``): ``spearman`` of the per-tuple aperture against the width (do
    the pairs agree that a wider gripper means a more open hand?), and ``mean_pose_aperture_mm``: the aperture of
    the *mean pose* of each width bin (what a decoder trained with a squared error from a width alone converges
    to), with its Spearman against the bin index. Bins with fewer than `min_count` tuples are left out.
    """
    from scipy.stats import spearmanr

    if "gripper" not in data:
        raise ValueError(f"paired data without a 'gripper' modality (has {sorted(data)})")
    width = np.asarray(data["gripper"], dtype=np.float64)[:, 0]
    edges = np.asarray(edges if edges is not None else np.r_[np.linspace(0.0, 0.95, 20), 0.999, 1.0001])
    idx = np.clip(np.digitize(width, edges) - 1, 0, len(edges) - 2)
    out = {}
    for hand in hands or [m for m in data if m != "gripper"]:
        x = np.asarray(data[hand], dtype=np.float64)
        per_tuple = hand_aperture_mm(hand, x)
        bins = [b for b in range(len(edges) - 1) if (idx == b).sum() >= min_count]
        means = np.stack([x[idx == b].mean(0) for b in bins])
        curve = hand_aperture_mm(hand, means)
        out[hand] = {"spearman": float(spearmanr(width, per_tuple).statistic),
                     "bin_mean_aperture_mm": [float(per_tuple[idx == b].mean()) for b in bins],
                     "mean_pose_aperture_mm": curve.round(2).tolist(),
                     "mean_pose_spearman": float(spearmanr(np.arange(len(curve)), curve).statistic),
                     "bin_lower_edges": [float(edges[b]) for b in bins]}
    return out

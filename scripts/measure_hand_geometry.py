"""Measure hand geometry (chain bases and bone lengths) on OTHER people's hands for the latent pose sampler.

The synthetic sampler of lad_core.latent draws each pose's hand geometry around a centre and with a spread measured
here, so that the training hands are not the held-out recording's person (whose proportions the parametric hand in
lad_core/embodiments/human_model.py was measured from). Sources, all in ../shared/data/hands (never the pose
sequence or the video):

- the MediaPipe world landmarks in landmark_examples/*.pbtxt (fist, pointing up, thumb up, victory; the two
  "rotated" files are the same photos rotated, so they count as the same people: kept, each weighing one hand);
- MediaPipe world landmarks of the photos in photos/{four,call} (IMAGE mode, zoom search), tracked here.

Each hand is put in the canonical wrist frame (lad_core.embodiments.human.canonicalize, a left hand mirrored),
then measured: the bases (thumb CMC = landmark 1, MCPs 5/9/13/17) and the three bone lengths per finger. Sizes
are normalised per hand by its palm length (wrist -> middle MCP) so the spread is of shape; hand size is drawn
separately by the sampler from adult anthropometry (see resources/latent_hand_geometry.yaml).

Run (writes the YAML the sampler reads; prints a summary):
    .venv/bin/python scripts/measure_hand_geometry.py --out resources/latent_hand_geometry.yaml
Evaluate latent models on the same other-people hands (human -> mimic / Faive against direct retargeting, per set):
    .venv/bin/python scripts/measure_hand_geometry.py --eval tests/latent/data/latent_cpu_all [MORE_MODELS]
"""

from __future__ import annotations

import argparse
import datetime
import re
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from lad_core.embodiments import human_model  # noqa: E402
from lad_core.embodiments.human import canonicalize  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "hands"
_BASE_IDX = [1, 5, 9, 13, 17]
FINGERS = human_model.FINGERS
# Published adult hand length (wrist crease to middle fingertip), British adults 19-65, Pheasant & Haslegrave,
# "Bodyspace", 3rd ed. (CRC, 2006), table of hand dimensions: men mean 189 mm (sd 10), women 174 mm (sd 9).
# Equal-weight mixture: mean 181.5 mm, sd sqrt((10^2 + 9^2)/2 + 7.5^2) = 12.0 mm -> coefficient of variation 0.066.
ANTHRO_CV = float(np.sqrt((10.0**2 + 9.0**2) / 2 + 7.5**2) / 181.5)


def read_pbtxt_world(path: Path) -> tuple[np.ndarray, str]:
    """(21, 3) world landmarks and the handedness label of a MediaPipe HandLandmarkerResult text proto."""
    text = path.read_text()
    block = text[text.index("world_landmarks {"):]
    xyz = re.findall(r"x:\s*(\S+)\s*y:\s*(\S+)\s*z:\s*(\S+)", block)[:21]
    label = re.search(r'label:\s*"(\w+)"', text)
    return np.array(xyz, dtype=np.float64), (label.group(1).lower() if label else "right")


def load_hands(data: Path = DATA) -> list[tuple[str, np.ndarray, str]]:
    """(name, (21, 3) world landmarks, handedness) of every other-people hand: the pbtxt files, then the photos."""
    hands = [(f"landmark_examples/{p.name}", *read_pbtxt_world(p))
             for p in sorted((data / "landmark_examples").glob("*.pbtxt")) if "world_landmarks" in p.read_text()]
    return hands + track_photos(data)


def track_photos(data: Path = DATA) -> list[tuple[str, np.ndarray, str]]:
    import cv2

    from lad_core.tracking.mediapipe_adapter import MediaPipeHandDetector

    out = []
    with MediaPipeHandDetector(mode="image", num_hands=1, zoom_search=True) as det:
        for img in sorted((data / "photos").glob("*/*.jpg")):
            bgr = cv2.imread(str(img))
            hands = det.detect(np.ascontiguousarray(bgr[..., ::-1]))
            if hands:
                out.append((f"photos/{img.parent.name}/{img.name}", hands[0].world_landmarks, hands[0].handedness))
    return out


def measure(canonical: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(21, 3) canonical landmarks -> bases (5, 3), bone lengths (5, 3)."""
    bases = canonical[_BASE_IDX]
    lengths = np.array([[np.linalg.norm(canonical[b + k + 1] - canonical[b + k]) for k in range(3)] for b in _BASE_IDX])
    return bases, lengths


def evaluate(models, hands) -> int:
    import json

    import torch

    from lad_core.latent.checkpoint import load_model
    from lad_core.latent.metrics import real_pose_targets

    torch.set_num_threads(1)
    canon = {name: canonicalize(world, handed)[0] for name, world, handed in hands}
    sets = {"pbtxt": [k for k in canon if k.startswith("landmark_examples")],
            "photos": [k for k in canon if k.startswith("photos")]}
    sets["all"] = sets["pbtxt"] + sets["photos"]
    for path in models:
        model = load_model(path)
        for set_name, keys in sets.items():
            res = real_pose_targets(model, np.stack([canon[k] for k in keys]), targets=("mimic", "faive"))
            print(json.dumps({"model": str(path), "set": set_name,
                              **{k: round(v, 2) if isinstance(v, float) else v for k, v in res.items()}}))
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=None, help="YAML to write (default: print only)")
    ap.add_argument("--eval", nargs="+", type=Path, default=None, metavar="MODEL",
                    help="instead: evaluate latent checkpoints on these hands (one JSON line per model and set)")
    args = ap.parse_args(argv)
    hands = load_hands()
    if args.eval:
        return evaluate(args.eval, hands)
    names, bases, lengths, palms = [], [], [], []
    for name, world, handed in hands:
        canon, _ = canonicalize(world, handed)
        b, length = measure(canon)
        names.append(name)
        bases.append(b)
        lengths.append(length)
        palms.append(np.linalg.norm(canon[9]))
    bases, lengths, palms = np.array(bases), np.array(lengths), np.array(palms)
    nb, nl = bases / palms[:, None, None], lengths / palms[:, None, None]  # shape, in palm lengths
    model_b, model_l = human_model.default_geometry()
    model_palm = float(np.linalg.norm(model_b[2]))
    print(f"{len(names)} hands; palm length mean {palms.mean() * 1000:.1f} mm sd {palms.std(ddof=1) * 1000:.1f} "
          f"(model hand {model_palm * 1000:.1f} mm)")
    for i, f in enumerate(FINGERS):
        print(f"{f:7s} base/palm {np.round(nb[:, i].mean(0), 3)} (model {np.round(model_b[i] / model_palm, 3)}) "
              f"sd {np.round(nb[:, i].std(0, ddof=1), 3)}; lengths/palm {np.round(nl[:, i].mean(0), 3)} "
              f"(model {np.round(model_l[i] / model_palm, 3)}) sd {np.round(nl[:, i].std(0, ddof=1), 3)}")
    if args.out is None:
        return 0
    import yaml

    r = lambda a: np.round(np.asarray(a, dtype=float), 4).tolist()  # noqa: E731
    doc = {
        "about": ("Hand geometry of OTHER people's hands for the latent pose sampler (lad_core.latent.sampler): "
                  "canonical wrist frame, per finger (thumb, index, middle, ring, little) the chain base (thumb CMC, "
                  "MCP) and the three bone lengths, in units of the hand's palm length (wrist -> middle MCP). "
                  "centre = mean, spread = sample std over the hands below. Written by "
                  "scripts/measure_hand_geometry.py; the held-out recording is not among them."),
        "measured": datetime.date.today().isoformat(),
        "sources": names,
        "palm_length_m": {"mean": round(float(palms.mean()), 4), "sd": round(float(palms.std(ddof=1)), 4),
                          "note": "MediaPipe world landmarks (metric scale estimated by the model)"},
        "size_cv": {"value": round(ANTHRO_CV, 4),
                    "note": ("coefficient of variation of adult hand length, men and women equally weighted: "
                             "Pheasant & Haslegrave, Bodyspace, 3rd ed. (2006): men 189 (sd 10) mm, women 174 "
                             "(sd 9) mm")},
        "bases": {"centre": r(nb.mean(0)), "spread": r(nb.std(0, ddof=1))},
        "lengths": {"centre": r(nl.mean(0)), "spread": r(nl.std(0, ddof=1))},
    }
    args.out.write_text(yaml.safe_dump(doc, sort_keys=False, width=118))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

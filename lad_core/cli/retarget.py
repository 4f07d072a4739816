"""`lad retarget INPUT.npy --to faive,mimic,gripper --out pairs.h5`: the aligned tuples of paper Eq. 1.

INPUT holds canonical human landmarks in metres: a `lad track --out` recording (its frames with a hand) or an
(N, 21, 3) .npy such as ../shared/data/poses/right_hand_video_sequence/joints.npy. The output has one
dataset per embodiment: /human (N, 189) theta_H, /landmarks (N, 21, 3) and /<robot> (N, dof), with the scales, the
source, the retargeting settings and the software version as attributes. `--converged` solves each pose in the
steadier, slower batched mode that paired latent data is made with (RetargetConfig.converged()).
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "retarget", help="retarget human landmarks to robots (paper Eq. 1)", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.add_argument("input", type=Path, help=".npy (N,21,3) canonical landmarks or a `lad track --out` recording (.h5)")
    p.add_argument("--to", default="faive,mimic,gripper", help="comma-separated embodiments (default: %(default)s)")
    p.add_argument("--out", type=Path, required=True, help="output HDF5 file")
    p.add_argument("--scales", type=Path, help="YAML with keyvector_scales (per embodiment section or flat)")
    p.add_argument("--converged", action="store_true",
                   help="blended codebook start and 15 iterations: about half the speed, fewer jumps between similar poses")
    p.set_defaults(func=run)


def run(args) -> int:
    import h5py
    import numpy as np
    from tqdm import tqdm

    from lad_core import __version__
    from lad_core.embodiments.human import encode_pose
    from lad_core.retarget import RetargetConfig, build_retargeter

    from lad_core.tracking.recording import read_hand_poses

    landmarks = read_hand_poses(args.input)
    targets = [t.strip() for t in args.to.split(",") if t.strip()]
    config = RetargetConfig.converged() if args.converged else RetargetConfig()
    retargeters = {t: build_retargeter(t, config=config, scales_file=args.scales if args.scales and t != "gripper" else None)
                   for t in targets}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(args.out.suffix + ".partial")
    with h5py.File(tmp, "w") as f:
        f.attrs.update(source=str(args.input), software_version=__version__, count=len(landmarks), embodiments=",".join(["human", *targets]),
                       retarget=config.model_dump_json())
        f.create_dataset("landmarks", data=landmarks, compression="gzip")
        f.create_dataset("human", data=encode_pose(landmarks), compression="gzip")
        for name, r in retargeters.items():
            with tqdm(total=len(landmarks), desc=f"retarget -> {name}", unit="pose") as bar:
                q = r.retarget_batch(landmarks, progress=bar.update)
            ds = f.create_dataset(name, data=q, compression="gzip")
            ds.attrs["joint_names"] = r.spec.joint_names
            if r.scales is not None:
                ds.attrs["keyvector_scales"] = np.asarray(r.scales)
            else:
                ds.attrs["W"] = r.width
    tmp.replace(args.out)
    print(f"wrote {len(landmarks)} tuples ({', '.join(['human', *targets])}) to {args.out}")
    return 0

"""`lad retarget INPUT.npy --to faive,mimic,gripper --out pairs.h5`: the aligned tuples of paper Eq. 1.

INPUT holds (N, 21, 3) canonical human landmarks in metres (for example a `lad track` recording's
/landmarks/canonical dataset, or ../shared/data/poses/right_hand_video_sequence/joints.npy). The output has one
dataset per embodiment: /human (N, 189) theta_H, /landmarks (N, 21, 3) and /<robot> (N, dof), with the scales, the
source and the software version as attributes.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "retarget", help="retarget human landmarks to robots (paper Eq. 1)", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )  # fmt: skip
    p.add_argument("input", type=Path, help=".npy (N,21,3) or .h5 with a landmarks dataset")
    p.add_argument("--to", default="faive,mimic,gripper", help="comma-separated embodiments (default: %(default)s)")
    p.add_argument("--out", type=Path, required=True, help="output HDF5 file")
    p.add_argument("--scales", type=Path, help="YAML with keyvector_scales (per embodiment section or flat)")
    p.add_argument("--dataset", default=None, help="HDF5 input: dataset path of the (N,21,3) landmarks")
    p.set_defaults(func=run)


def load_landmarks(path: Path, dataset: str | None = None):
    import numpy as np

    from lad_core.embodiments.human import validate_landmarks
    from lad_core.errors import InputError

    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.suffix == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise InputError(f"{path}: not a readable .npy file ({exc})") from None
    elif path.suffix in {".h5", ".hdf5"}:
        import h5py

        try:
            with h5py.File(path, "r") as f:
                name = dataset or next((k for k in ("landmarks/canonical", "landmarks", "canonical_landmarks") if k in f), None)
                if name is None or name not in f:
                    raise InputError(f"{path}: no landmarks dataset (looked for {dataset or 'landmarks/canonical, landmarks'})")
                arr = f[name][()]
        except OSError as exc:
            raise InputError(f"{path}: not a readable HDF5 file ({exc})") from None
    else:
        raise InputError(f"{path}: expected a .npy or .h5 file")
    return validate_landmarks(arr, name=str(path))


def run(args) -> int:
    import h5py
    import numpy as np
    from tqdm import tqdm

    from lad_core import __version__
    from lad_core.embodiments.human import encode_pose
    from lad_core.retarget import build_retargeter

    landmarks = load_landmarks(args.input, args.dataset).reshape(-1, 21, 3)
    targets = [t.strip() for t in args.to.split(",") if t.strip()]
    retargeters = {t: build_retargeter(t, scales_file=args.scales if args.scales and t != "gripper" else None) for t in targets}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(args.out.suffix + ".partial")
    with h5py.File(tmp, "w") as f:
        f.attrs.update(source=str(args.input), software_version=__version__, count=len(landmarks), embodiments=",".join(["human", *targets]))
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

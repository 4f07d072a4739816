"""`lad episodes ...`: list, index, info, repair, delete, trim, export and import episode datasets.

h5py, pyarrow and PyAV are imported inside the commands so `lad --help` stays fast.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def register(subparsers) -> None:
    p = subparsers.add_parser("episodes", help="manage recorded episode datasets (HDF5, one file per episode)")
    sub = p.add_subparsers(dest="episodes_command", metavar="ACTION", required=True)

    s = sub.add_parser("list", help="print the index of a dataset directory")
    s.add_argument("root", type=Path)
    s.add_argument("--json", action="store_true", help="print JSON instead of a table")
    s.set_defaults(func=_list)

    s = sub.add_parser("index", help="write <root>/index.json (lengths, success, embodiment, task)")
    s.add_argument("root", type=Path)
    s.set_defaults(func=_index)

    s = sub.add_parser("info", help="attributes and arrays of one episode file")
    s.add_argument("path", type=Path)
    s.set_defaults(func=_info)

    s = sub.add_parser("repair", help="recover a partial recording (a .partial file, or every one in a directory)")
    s.add_argument("path", type=Path)
    s.add_argument("--out", type=Path, help="where to write the repaired episode (single file only)")
    s.add_argument("--overwrite", action="store_true", help="replace an existing episode of the same name")
    s.set_defaults(func=_repair)

    s = sub.add_parser("delete", help="delete episode INDEX of a dataset")
    s.add_argument("root", type=Path)
    s.add_argument("index", type=int)
    s.set_defaults(func=_delete)

    s = sub.add_parser("trim", help="keep frames [start, end) of an episode file (rewritten atomically)")
    s.add_argument("path", type=Path)
    s.add_argument("--start", type=int, default=0)
    s.add_argument("--end", type=int, default=None, help="exclusive; negative counts from the end")
    s.set_defaults(func=_trim)

    s = sub.add_parser("export", help="export a dataset to LeRobot v3 (a directory) or robomimic (one .hdf5)")
    s.add_argument("root", type=Path)
    s.add_argument("--format", choices=["lerobot", "robomimic"], required=True)
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--crf", type=int, default=30, help="LeRobot video quality (lower is better; default 30)")
    s.add_argument("--overwrite", action="store_true")
    s.set_defaults(func=_export)

    s = sub.add_parser("import", help="import a LeRobot v3 directory or robomimic .hdf5 into a dataset directory")
    s.add_argument("src", type=Path)
    s.add_argument("--format", choices=["lerobot", "robomimic"], required=True)
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--embodiment", help="embodiment of the data (needed for files not written by lad)")
    s.add_argument("--fps", type=float, help="frame rate (robomimic files not written by lad)")
    s.add_argument("--ee-dims", type=int, default=None, help="trailing action columns that are the end-effector")
    s.set_defaults(func=_import)


def _list(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from lad_core.episodes import EpisodeDataset

    ds = EpisodeDataset(args.root)
    rows = ds.index()
    if args.json:
        print(json.dumps({"episodes": [asdict(r) for r in rows], "partials": [str(p) for p in ds.partials()]},
                         indent=2))
        return 0
    print(f"{'index':>6} {'frames':>7} {'secs':>6} {'success':>7}  {'embodiment':<12} task")
    for r in rows:
        if r.error:
            print(f"{r.index:>6}  ERROR {r.error}")
        else:
            flag = " (repaired)" if r.repaired else ""
            print(f"{r.index:>6} {r.length:>7} {r.duration_s:>6.1f} {str(r.success):>7}  {r.embodiment:<12} "
                  f"{r.task}{flag}")
    print(f"{len(rows)} episodes, {sum(r.length for r in rows)} frames, "
          f"{sum(r.success for r in rows)} successful")
    for p in ds.partials():
        print(f"partial recording: {p}  (lad episodes repair {p})")
    return 0


def _index(args: argparse.Namespace) -> int:
    from lad_core.episodes import EpisodeDataset

    print(EpisodeDataset(args.root).write_index())
    return 0


def _info(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from lad_core.episodes import EpisodeReader

    with EpisodeReader(args.path, check_embodiment=False) as r:
        doc = {"path": str(args.path), "frames": len(r), **asdict(r.info),
               "cameras": {c: list(hw) for c, hw in r.schema.cameras.items()},
               "observations": dict(r.schema.observations),
               "actions": {"arm": r.schema.arm_dim, "end_effector": r.schema.end_effector_dim,
                           "end_effector_kind": r.schema.end_effector_kind}}
    print(json.dumps(doc, indent=2))
    return 0


def _repair(args: argparse.Namespace) -> int:
    from lad_core.episodes import EpisodeDataset, repair_episode

    if args.path.is_dir():
        if args.out:
            print("lad episodes repair: --out applies to a single file, not a directory")
            return 2
        done = EpisodeDataset(args.path).repair_all()
    else:
        done = [repair_episode(args.path, args.out, overwrite=args.overwrite)]
    from lad_core.episodes import EpisodeReader

    for p in done:
        with EpisodeReader(p, check_embodiment=False) as r:
            print(f"repaired {p}: {len(r)} frames")
    if not done:
        print("nothing to repair")
    return 0


def _delete(args: argparse.Namespace) -> int:
    from lad_core.episodes import EpisodeDataset

    print(f"deleted {EpisodeDataset(args.root).delete(args.index)}")
    return 0


def _trim(args: argparse.Namespace) -> int:
    from lad_core.episodes import trim_episode

    n = trim_episode(args.path, args.start, args.end)
    print(f"{args.path}: {n} frames kept")
    return 0


def _export(args: argparse.Namespace) -> int:
    from lad_core.episodes import EpisodeDataset
    from lad_core.errors import InputError

    paths = list(EpisodeDataset(args.root))
    if not paths:
        raise InputError(f"{args.root}: no episodes to export")
    if args.format == "lerobot":
        from lad_core.episodes.lerobot import VideoOptions, export_lerobot

        out = export_lerobot(paths, args.out, video=VideoOptions(crf=args.crf), overwrite=args.overwrite)
    else:
        from lad_core.episodes.robomimic import export_robomimic

        out = export_robomimic(paths, args.out, overwrite=args.overwrite)
    print(f"exported {len(paths)} episodes to {out}")
    return 0


def _import(args: argparse.Namespace) -> int:
    if args.format == "lerobot":
        from lad_core.episodes.lerobot import import_lerobot

        done = import_lerobot(args.src, args.out, embodiment=args.embodiment, end_effector_dims=args.ee_dims)
    else:
        from lad_core.episodes.robomimic import import_robomimic

        done = import_robomimic(args.src, args.out, embodiment=args.embodiment, fps=args.fps,
                                end_effector_dims=args.ee_dims or 1)
    print(f"imported {len(done)} episodes into {args.out}")
    return 0

"""Export to and import from a robomimic-style single HDF5 file.

    data                 attrs: total (frames over all demos), env_args (JSON: env_name = task, type, env_kwargs)
    data/demo_<i>        attrs: num_samples; lad_info / lad_schema (JSON, our attributes and schema)
        actions          float32 (T, D_arm + D_ee)  arm then end-effector
        obs/<name>       float32 (T, D)   low-dim observations
        obs/<cam>_image  uint8 (T, H, W, 3)   cameras (robomimic's `*_image` convention)
        rewards, dones   float32 / uint8 (T,)  1 at the last step of a successful demo / of every demo
        lad_timestamps   float64 (T,)     recorded timestamps (robomimic ignores extra datasets)

`env_args.type` is "lad" (no robomimic simulator can replay these demos; training only needs the arrays).
The round trip is exact.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Iterable

import numpy as np

from lad_core.episodes.schema import EpisodeData, EpisodeInfo, EpisodeSchema
from lad_core.errors import InputError

_DEMO_RE = re.compile(r"^demo_(\d+)$")


def export_robomimic(episodes: Iterable[str | Path], out: str | Path, *, overwrite: bool = False) -> Path:
    """Write episode files into one robomimic HDF5 file `out`; returns `out`."""
    import h5py

    from lad_core.episodes.reader import EpisodeReader

    paths = [Path(p) for p in episodes]
    if not paths:
        raise InputError("nothing to export: no episode files given")
    out = Path(out)
    if out.exists() and not overwrite:
        raise InputError(f"{out}: exists (pass overwrite)")
    tmp = out.with_name(out.name + ".partial")
    total, tasks = 0, []
    with h5py.File(tmp, "w") as f:
        data = f.create_group("data")
        for i, path in enumerate(paths):
            with EpisodeReader(path) as r:
                d = r.load()
            g = data.create_group(f"demo_{i}")
            n = len(d)
            g.attrs["num_samples"] = n
            g.attrs["lad_info"] = json.dumps(asdict(d.info))
            g.attrs["lad_schema"] = d.schema.to_json()
            g.attrs["lad_source"] = path.name
            g.create_dataset("actions", data=np.concatenate([d.arm, d.end_effector], axis=1).astype(np.float32))
            for name, v in d.observations.items():
                g.create_dataset(f"obs/{name}", data=v.astype(np.float32))
            for cam, v in d.images.items():
                g.create_dataset(f"obs/{cam}_image", data=v, chunks=(1, *v.shape[1:]), compression="gzip",
                                 compression_opts=4)
            rewards = np.zeros(n, np.float32)
            rewards[-1] = float(d.info.success)
            dones = np.zeros(n, np.uint8)
            dones[-1] = 1
            g.create_dataset("rewards", data=rewards)
            g.create_dataset("dones", data=dones)
            g.create_dataset("lad_timestamps", data=d.timestamps.astype(np.float64))
            total += n
            if d.info.task not in tasks:
                tasks.append(d.info.task)
        data.attrs["total"] = total
        data.attrs["env_args"] = json.dumps({"env_name": tasks[0] if len(tasks) == 1 else "mixed", "type": "lad",
                                             "env_kwargs": {"tasks": tasks}})
    tmp.replace(out)
    return out


def import_robomimic(src: str | Path, out: str | Path, *, embodiment: str | None = None,
                     fps: float | None = None, end_effector_dims: int = 1) -> list[Path]:
    """Convert a robomimic HDF5 file into episode files in dataset directory `out`.

    Files we exported come back exactly. Other robomimic files need `embodiment` and `fps` (they store neither);
    their `obs/*_image` uint8 arrays become cameras, other obs low-dim arrays, and the last `end_effector_dims`
    action columns the end-effector.
    """
    import h5py

    from lad_core.episodes.dataset import EpisodeDataset
    from lad_core.episodes.reader import open_h5, schema_from_json
    from lad_core.episodes.writer import write_episode

    src = Path(src)
    with open_h5(src) as f:
        if "data" not in f or not isinstance(f["data"], h5py.Group):
            raise InputError(f"{src}: not a robomimic file (no 'data' group; top-level: {sorted(f.keys())[:8]})")
        demos = sorted((k for k in f["data"] if _DEMO_RE.match(k)), key=lambda k: int(_DEMO_RE.match(k).group(1)))
        if not demos:
            raise InputError(f"{src}: 'data' holds no demo_<i> groups")
        try:
            env = json.loads(f["data"].attrs.get("env_args", "{}"))
        except (TypeError, ValueError):
            env = {}
        dataset = EpisodeDataset(out, create=True)
        first = dataset.next_index()
        written = []
        for k, name in enumerate(demos):
            g = f["data"][name]
            where = f"{src}:/data/{name}"
            if "actions" not in g or "obs" not in g:
                raise InputError(f"{where}: needs 'actions' and 'obs'")
            actions = g["actions"][()].astype(np.float32)
            if actions.ndim != 2:
                raise InputError(f"{where}/actions: expected (T, D), got shape {actions.shape}")
            if "lad_schema" in g.attrs:
                schema = schema_from_json(g.attrs["lad_schema"], source=where)
                raw = json.loads(g.attrs["lad_info"])
                for key in ("num_frames", "complete", "schema_version", "created_unix"):
                    raw.pop(key, None)
                if embodiment:
                    raw["embodiment"] = embodiment
                info = EpisodeInfo(**raw)
                images = {c: g[f"obs/{c}_image"][()] for c in schema.cameras}
                obs = {o: g[f"obs/{o}"][()].astype(np.float32) for o in schema.observations}
            else:
                if not embodiment or not fps:
                    raise InputError(f"{where}: a robomimic file not written by lad needs --embodiment and --fps")
                images, obs = {}, {}
                for key, ds in g["obs"].items():
                    if ds.dtype == np.uint8 and ds.ndim == 4 and ds.shape[-1] == 3:
                        images[re.sub(r"_image$", "", key)] = ds[()]
                    else:
                        obs[re.sub(r"[^A-Za-z0-9_]", "_", key)] = ds[()].astype(np.float32).reshape(len(ds), -1)
                n_arm = actions.shape[1] - end_effector_dims
                if n_arm <= 0:
                    raise InputError(f"{where}/actions: {actions.shape[1]} columns leave no arm columns")
                schema = EpisodeSchema(cameras={c: v.shape[1:3] for c, v in images.items()},
                                       observations={o: v.shape[1] for o, v in obs.items()}, arm_dim=n_arm,
                                       end_effector_dim=end_effector_dims,
                                       end_effector_kind="gripper_width" if end_effector_dims == 1 else "joints")
                success = bool("rewards" in g and len(g["rewards"]) and g["rewards"][-1] > 0)
                info = EpisodeInfo(embodiment=embodiment, task=str(env.get("env_name") or "unknown"), fps=fps,
                                   success=success, extra={"robomimic_source": f"{src.name}:{name}"})
            n = len(actions)
            ts = g["lad_timestamps"][()] if "lad_timestamps" in g else np.arange(n) / info.fps
            data = EpisodeData(info, schema, ts, images, obs, actions[:, :schema.arm_dim].copy(),
                               actions[:, schema.arm_dim:].copy())
            written.append(write_episode(dataset.path_for(first + k), data))
    return written

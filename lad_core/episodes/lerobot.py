"""Export to and import from the LeRobotDataset v3.0 layout (what `lerobot` >= 0.4 writes and reads).

    meta/info.json                      codebase_version "v3.0", fps, features, data_path / video_path templates
    meta/stats.json                     per-feature min/max/mean/std/count (images: per channel, in [0, 1])
    meta/tasks.parquet                  task string (pandas index "task") -> task_index
    meta/episodes/chunk-000/file-000.parquet   one row per episode: length, index range, video time range,
                                        per-episode stats, plus our attributes in `lad/...` columns
    data/chunk-000/file-000.parquet     one row per frame: timestamp, frame_index, episode_index, index,
                                        task_index, observation.<name>, action, recorded_timestamp
    videos/observation.images.<cam>/chunk-000/file-000.mp4   all episodes of a camera, back to back

Our arrays map as: `/observations/<name>` -> `observation.<name>`, camera `<cam>` -> `observation.images.<cam>`,
`/actions/arm` + `/actions/end_effector` -> `action` (element names `arm.<n>` / `end_effector.<n>` carry the
split), recorded `/timestamps` -> `recorded_timestamp` (LeRobot's `timestamp` is frame_index / fps, which its
video decoder requires). Videos use LeRobot's defaults (AV1 via libsvtav1, yuv420p, g=2, crf=30).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

from lad_core.episodes.schema import EpisodeData, EpisodeInfo, EpisodeSchema
from lad_core.errors import InputError

CODEBASE_VERSION = "v3.0"
CHUNKS_SIZE = 1000
DATA_FILES_SIZE_IN_MB = 100
VIDEO_FILES_SIZE_IN_MB = 500
DATA_PATH = "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
VIDEO_PATH = "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
EPISODES_PATH = "meta/episodes/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
_INFO_FIELDS = ("embodiment", "task", "fps", "success", "retarget_scales", "calibration", "extra",
                "software_version", "repaired")


@dataclass
class VideoOptions:
    """Encoder settings; the defaults are LeRobot's."""

    codec: str = "libsvtav1"
    pix_fmt: str = "yuv420p"
    crf: int = 30
    gop: int = 2


def _feature_stats(x: np.ndarray) -> dict[str, np.ndarray]:
    """min/max/mean/std/count over axis 0 (LeRobot's stats.json entries)."""
    x = np.asarray(x, dtype=np.float64)
    return {"min": x.min(0), "max": x.max(0), "mean": x.mean(0), "std": x.std(0), "count": np.array([len(x)])}


def _image_stats(frames: np.ndarray) -> dict[str, np.ndarray]:
    """Per-channel stats of uint8 (T, H, W, 3) frames scaled to [0, 1], shaped (3, 1, 1) like LeRobot's."""
    step = max(1, len(frames) // 100)  # LeRobot also subsamples frames for image stats
    x = frames[::step].astype(np.float64).reshape(-1, 3) / 255.0
    out = {k: v.reshape(3, 1, 1) for k, v in _feature_stats(x).items() if k != "count"}
    out["count"] = np.array([len(frames)])
    return out


def _merge_stats(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Combine per-episode stats (count-weighted mean and pooled variance)."""
    counts = np.array([p["count"][0] for p in parts], dtype=np.float64)
    w = (counts / counts.sum()).reshape((-1,) + (1,) * np.ndim(parts[0]["mean"]))
    means = np.stack([p["mean"] for p in parts])
    mean = (w * means).sum(0)
    var = (w * (np.stack([p["std"] for p in parts]) ** 2 + (means - mean) ** 2)).sum(0)
    return {"min": np.min([p["min"] for p in parts], axis=0), "max": np.max([p["max"] for p in parts], axis=0),
            "mean": mean, "std": np.sqrt(var), "count": np.array([int(counts.sum())])}


def _tolist(stats: dict[str, np.ndarray]) -> dict[str, list]:
    return {k: np.asarray(v).tolist() for k, v in stats.items()}


def _features(schema: EpisodeSchema, fps: float, video: VideoOptions) -> dict[str, dict]:
    feats: dict[str, dict] = {}
    for cam, (h, w) in schema.cameras.items():
        feats[f"observation.images.{cam}"] = {
            "dtype": "video", "shape": [h, w, 3], "names": ["height", "width", "channels"],
            "info": {"video.height": h, "video.width": w, "video.codec": video.codec.removeprefix("lib")
                     .replace("svtav1", "av1"), "video.pix_fmt": video.pix_fmt, "video.is_depth_map": False,
                     "video.fps": _fps_value(fps), "video.channels": 3, "has_audio": False}}
    for name, dim in schema.observations.items():
        feats[f"observation.{name}"] = {"dtype": "float32", "shape": [dim],
                                        "names": list(schema.names_for(f"observations/{name}"))}
    action_names = [f"arm.{n}" for n in schema.names_for("actions/arm")]
    action_names += [f"end_effector.{n}" for n in schema.names_for("actions/end_effector")]
    feats["action"] = {"dtype": "float32", "shape": [len(action_names)], "names": action_names}
    feats["recorded_timestamp"] = {"dtype": "float64", "shape": [1], "names": None}
    for key, dtype in (("timestamp", "float32"), ("frame_index", "int64"), ("episode_index", "int64"),
                       ("index", "int64"), ("task_index", "int64")):
        feats[key] = {"dtype": dtype, "shape": [1], "names": None}
    return feats


def _fps_value(fps: float) -> int | float:
    return int(fps) if float(fps).is_integer() else float(fps)


def _write_tasks(path: Path, tasks: list[str]) -> None:
    """tasks.parquet as pandas writes a DataFrame indexed by "task" (LeRobot reads it with pandas)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table({"task_index": pa.array(range(len(tasks)), pa.int64()), "task": pa.array(tasks, pa.string())})
    pandas_meta = {"index_columns": ["task"], "column_indexes": [], "columns": [
        {"name": "task_index", "field_name": "task_index", "pandas_type": "int64", "numpy_type": "int64",
         "metadata": None},
        {"name": "task", "field_name": "task", "pandas_type": "unicode", "numpy_type": "object", "metadata": None}],
        "creator": {"library": "pyarrow", "version": pa.__version__}, "pandas_version": "2.2.0"}
    table = table.replace_schema_metadata({b"pandas": json.dumps(pandas_meta).encode()})
    pq.write_table(table, path)


class _VideoSink:
    """One mp4 per camera; episodes are appended back to back with continuous timestamps."""

    def __init__(self, path: Path, h: int, w: int, fps: float, opts: VideoOptions):
        import os
        from fractions import Fraction

        os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its whole config at info level otherwise
        import av

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._c = av.open(str(path), "w")
        rate = Fraction(fps).limit_denominator(1000)
        self._s = self._c.add_stream(opts.codec, rate=rate)
        self._s.width, self._s.height, self._s.pix_fmt = w, h, opts.pix_fmt
        self._s.time_base = 1 / rate
        self._s.options = {"crf": str(opts.crf), "g": str(opts.gop)}
        self.frames = 0

    def add(self, frames: np.ndarray) -> None:
        import av

        for img in frames:
            f = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            f.pts = self.frames
            self.frames += 1
            for packet in self._s.encode(f):
                self._c.mux(packet)

    def close(self) -> None:
        for packet in self._s.encode():
            self._c.mux(packet)
        self._c.close()


def export_lerobot(episodes: Iterable[str | Path], out: str | Path, *, video: VideoOptions | None = None,
                   overwrite: bool = False) -> Path:
    """Write episode files as one LeRobotDataset v3.0 directory `out`; returns `out`.

    All episodes must share the schema and fps. Episodes are read one at a time (memory: one episode).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from lad_core.episodes.reader import EpisodeReader

    video = video or VideoOptions()
    paths = [Path(p) for p in episodes]
    if not paths:
        raise InputError("nothing to export: no episode files given")
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise InputError(f"{out}: exists and is not empty")
    (out / "meta").mkdir(parents=True, exist_ok=True)

    schema = fps = None
    tasks: dict[str, int] = {}
    sinks: dict[str, _VideoSink] = {}
    columns: dict[str, list] = {}
    ep_rows: list[dict] = []
    stats_parts: dict[str, list] = {}
    embodiments = set()
    total = 0
    for ep_idx, path in enumerate(paths):
        with EpisodeReader(path) as r:
            d = r.load()
        if schema is None:
            schema, fps = d.schema, d.info.fps
            feats = _features(schema, fps, video)
            for cam, (h, w) in schema.cameras.items():
                key = f"observation.images.{cam}"
                sinks[cam] = _VideoSink(out / VIDEO_PATH.format(video_key=key, chunk_index=0, file_index=0),
                                        h, w, fps, video)
        elif d.schema != schema or d.info.fps != fps:
            raise InputError(f"{path}: schema or fps differs from {paths[0]} (fps {d.info.fps} vs {fps}); "
                             f"export episodes of one kind together")
        n = len(d)
        task_index = tasks.setdefault(d.info.task, len(tasks))
        embodiments.add(d.info.embodiment)
        frame_index = np.arange(n)
        per_frame = {
            "timestamp": (frame_index / fps).astype(np.float32), "frame_index": frame_index,
            "episode_index": np.full(n, ep_idx), "index": total + frame_index, "task_index": np.full(n, task_index),
            "recorded_timestamp": d.timestamps.astype(np.float64),
            "action": np.concatenate([d.arm, d.end_effector], axis=1).astype(np.float32),
            **{f"observation.{k}": v.astype(np.float32) for k, v in d.observations.items()},
        }
        row = {"episode_index": ep_idx, "tasks": [d.info.task], "length": n, "data/chunk_index": 0,
               "data/file_index": 0, "dataset_from_index": total, "dataset_to_index": total + n}
        for cam in schema.cameras:
            key = f"observation.images.{cam}"
            start = sinks[cam].frames
            sinks[cam].add(d.images[cam])
            row |= {f"videos/{key}/chunk_index": 0, f"videos/{key}/file_index": 0,
                    f"videos/{key}/from_timestamp": start / fps, f"videos/{key}/to_timestamp": (start + n) / fps}
            st = _image_stats(d.images[cam])
            stats_parts.setdefault(key, []).append(st)
            row |= {f"stats/{key}/{s}": v.reshape(-1).tolist() for s, v in st.items()}
        row |= {"meta/episodes/chunk_index": 0, "meta/episodes/file_index": 0}
        for key, values in per_frame.items():
            columns.setdefault(key, []).append(values)
            st = _feature_stats(values.reshape(n, -1))
            stats_parts.setdefault(key, []).append(st)
            row |= {f"stats/{key}/{s}": v.tolist() for s, v in st.items()}
        info = asdict(d.info)
        row |= {f"lad/{k}": json.dumps(info[k]) for k in _INFO_FIELDS}
        row["lad/schema"] = schema.to_json()
        ep_rows.append(row)
        total += n
    for sink in sinks.values():
        sink.close()

    data = {}
    for key, parts in columns.items():
        arr = np.concatenate(parts)
        if arr.ndim == 2:
            data[key] = pa.FixedSizeListArray.from_arrays(pa.array(arr.reshape(-1)), arr.shape[1])
        else:
            data[key] = pa.array(arr)
    data_path = out / DATA_PATH.format(chunk_index=0, file_index=0)
    data_path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(data), data_path)
    # TODO(episodes): roll over to file-001 past DATA_FILES_SIZE_IN_MB / VIDEO_FILES_SIZE_IN_MB like LeRobot does;
    # one data file and one video per camera are fine for datasets of our size (hundreds of short episodes).
    ep_path = out / EPISODES_PATH.format(chunk_index=0, file_index=0)
    ep_path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(ep_rows), ep_path)
    _write_tasks(out / "meta" / "tasks.parquet", list(tasks))
    stats = {k: _tolist(_merge_stats(v)) for k, v in stats_parts.items()}
    (out / "meta" / "stats.json").write_text(json.dumps(stats, indent=4))
    info_json = {
        "codebase_version": CODEBASE_VERSION,
        "robot_type": embodiments.pop() if len(embodiments) == 1 else "mixed",
        "total_episodes": len(ep_rows), "total_frames": total, "total_tasks": len(tasks),
        "chunks_size": CHUNKS_SIZE, "data_files_size_in_mb": DATA_FILES_SIZE_IN_MB,
        "video_files_size_in_mb": VIDEO_FILES_SIZE_IN_MB, "fps": _fps_value(fps),
        "splits": {"train": f"0:{len(ep_rows)}"}, "data_path": DATA_PATH,
        "video_path": VIDEO_PATH if schema.cameras else None, "features": feats,
    }
    (out / "meta" / "info.json").write_text(json.dumps(info_json, indent=4))
    return out


# ---------------------------------------------------------------------------------------------------- import
_SAFE = re.compile(r"[^A-Za-z0-9_]")


def _safe_name(name: str) -> str:
    name = _SAFE.sub("_", name)
    return name if name[:1].isalpha() else f"x_{name}"


def _decode_video(path: Path, fps: float) -> np.ndarray:
    """All frames of an mp4 as uint8 (N, H, W, 3), placed by presentation time."""
    import av

    if not path.exists():
        raise InputError(f"{path}: video file listed in meta/info.json is missing")
    frames = {}
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            frames[int(round(float(f.time) * fps))] = f.to_ndarray(format="rgb24")
    if not frames:
        raise InputError(f"{path}: no video frames decoded")
    keys = sorted(frames)
    if keys != list(range(len(keys))):
        raise InputError(f"{path}: video frame times are not contiguous at {fps} fps")
    return np.stack([frames[k] for k in keys])


def _column(table, key: str, rows: slice) -> np.ndarray:
    """Rows [start, stop) of a parquet column as an array; list columns become (rows, D)."""
    import pyarrow as pa

    col = table.column(key).combine_chunks().slice(rows.start, rows.stop - rows.start)
    if pa.types.is_fixed_size_list(col.type) or pa.types.is_list(col.type):
        return np.stack(col.to_numpy(zero_copy_only=False)) if len(col) else np.zeros((0, 0))
    return col.to_numpy()


def import_lerobot(src: str | Path, out: str | Path, *, embodiment: str | None = None,
                   end_effector_dims: int | None = None) -> list[Path]:
    """Convert a LeRobotDataset v3.0 directory into episode files in dataset directory `out`.

    Datasets we exported come back exactly (images within codec tolerance). For other LeRobot datasets:
    `embodiment` names the embodiment (default: info.json robot_type), and without `arm.`/`end_effector.`
    element names the last `end_effector_dims` (default 1: a gripper width) action columns are the end-effector.
    """
    import pyarrow.parquet as pq

    from lad_core.episodes.dataset import EpisodeDataset
    from lad_core.episodes.writer import write_episode

    src = Path(src)
    info_path = src / "meta" / "info.json"
    if not info_path.exists():
        raise InputError(f"{src}: not a LeRobot dataset (no meta/info.json)")
    try:
        info = json.loads(info_path.read_text())
        version, fps, feats = info["codebase_version"], float(info["fps"]), info["features"]
    except (ValueError, KeyError) as exc:
        raise InputError(f"{info_path}: malformed info.json: {exc}") from None
    if not str(version).startswith("v3"):
        raise InputError(f"{info_path}: codebase_version {version!r} is not supported (v3.x only; convert older "
                         f"datasets with lerobot's convert_dataset_v21_to_v30 first)")
    cams = [k for k, f in feats.items() if k.startswith("observation.images.")]
    if any(feats[k]["dtype"] != "video" for k in cams):
        raise InputError(f"{info_path}: image features stored as PNG frames are not supported (videos only)")
    obs_keys = [k for k in feats if k.startswith("observation.") and k not in cams]
    if "action" not in feats:
        raise InputError(f"{info_path}: no 'action' feature")
    names = list(feats["action"].get("names") or [])
    dim = int(feats["action"]["shape"][0])
    if names and all(n.startswith(("arm.", "end_effector.")) for n in names):
        n_arm = sum(1 for n in names if n.startswith("arm."))
        arm_names = tuple(n.split(".", 1)[1] for n in names[:n_arm])
        ee_names = tuple(n.split(".", 1)[1] for n in names[n_arm:])
    else:
        n_arm = dim - (end_effector_dims or 1)
        if n_arm <= 0:
            raise InputError(f"{info_path}: action has {dim} columns; cannot split off {end_effector_dims or 1} "
                             f"end-effector columns")
        arm_names = ee_names = None

    episodes = pq.read_table(sorted((src / "meta" / "episodes").glob("*/*.parquet"))).to_pylist() \
        if (src / "meta" / "episodes").exists() else []
    if not episodes:
        raise InputError(f"{src}: meta/episodes holds no episode rows")
    data_tables = {}

    def data_table(chunk: int, file: int):
        key = (chunk, file)
        if key not in data_tables:
            p = src / info["data_path"].format(chunk_index=chunk, file_index=file)
            if not p.exists():
                raise InputError(f"{p}: data file listed in meta/episodes is missing")
            data_tables[key] = pq.read_table(p)
        return data_tables[key]

    videos: dict[tuple, np.ndarray] = {}
    dataset = EpisodeDataset(out, create=True)
    first = dataset.next_index()
    written = []
    for k, row in enumerate(sorted(episodes, key=lambda r: r["episode_index"])):
        table = data_table(row["data/chunk_index"], row["data/file_index"])
        index = table.column("index").to_numpy()
        start = int(np.searchsorted(index, row["dataset_from_index"]))
        rows = slice(start, start + int(row["length"]))
        if not (index[rows.start:rows.stop] == np.arange(row["dataset_from_index"], row["dataset_to_index"])).all():
            raise InputError(f"{src}: episode {row['episode_index']} rows are not contiguous in its data file")
        action = _column(table, "action", rows).astype(np.float32)
        obs = {}
        obs_names = {}
        for key in obs_keys:
            value = _column(table, key, rows).astype(np.float32)
            name = _safe_name(key.removeprefix("observation."))
            obs[name] = value.reshape(len(value), -1)
            if feats[key].get("names") and len(feats[key]["names"]) == obs[name].shape[1]:
                obs_names[f"observations/{name}"] = tuple(str(x) for x in feats[key]["names"])
        images = {}
        for key in cams:
            vkey = (key, row[f"videos/{key}/chunk_index"], row[f"videos/{key}/file_index"])
            if vkey not in videos:
                videos[vkey] = _decode_video(src / info["video_path"].format(
                    video_key=key, chunk_index=vkey[1], file_index=vkey[2]), fps)
            f0 = int(round(row[f"videos/{key}/from_timestamp"] * fps))
            clip = videos[vkey][f0:f0 + rows.stop - rows.start]
            if len(clip) != rows.stop - rows.start:
                raise InputError(f"{src}: video {key} has {len(clip)} frames for episode {row['episode_index']} "
                                 f"of length {row['length']}")
            images[_safe_name(key.removeprefix("observation.images."))] = clip
        ts = (_column(table, "recorded_timestamp", rows) if "recorded_timestamp" in table.column_names
              else _column(table, "timestamp", rows)).astype(np.float64).reshape(-1)
        attrs = {f: json.loads(row[f"lad/{f}"]) for f in _INFO_FIELDS if f"lad/{f}" in row}
        ep_info = EpisodeInfo(
            embodiment=embodiment or attrs.get("embodiment") or info.get("robot_type") or "",
            task=attrs.get("task") or (row.get("tasks") or ["unknown"])[0], fps=fps,
            success=bool(attrs.get("success", False)), retarget_scales=attrs.get("retarget_scales"),
            calibration=attrs.get("calibration"), extra=attrs.get("extra") or {},
            repaired=bool(attrs.get("repaired", False)))
        if "lad/schema" in row:  # one of ours: the exact schema (names, end-effector kind)
            from lad_core.episodes.reader import schema_from_json

            schema = schema_from_json(row["lad/schema"], source=src)
        else:
            ee_dim = action.shape[1] - n_arm
            names = dict(obs_names)
            if arm_names:
                names |= {"actions/arm": arm_names, "actions/end_effector": ee_names}
            schema = EpisodeSchema(cameras={c: v.shape[1:3] for c, v in images.items()},
                                   observations={k: v.shape[1] for k, v in obs.items()}, arm_dim=n_arm,
                                   end_effector_dim=ee_dim,
                                   end_effector_kind="gripper_width" if ee_dim == 1 else "joints", names=names)
        data = EpisodeData(ep_info, schema, ts, images, obs, action[:, :n_arm].copy(), action[:, n_arm:].copy())
        written.append(write_episode(dataset.path_for(first + k), data))
    return written

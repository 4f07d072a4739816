"""A dataset is a directory of episode files `episode_000000.h5`, `episode_000001.h5`, ...

`EpisodeDataset` lists them (an index of lengths, success, embodiment, task), deletes and trims episodes and finds
partial recordings left by a crash. Every rewrite goes through a temporary file and an atomic rename, so a crash
during `trim` leaves either the old or the new episode, never a broken one.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from lad_core.episodes.schema import EPISODE_SUFFIX, PARTIAL_SUFFIX, episode_filename
from lad_core.errors import InputError, LadError

_EPISODE_RE = re.compile(r"^episode_(\d{6,})\.h5$")
_PARTIAL_RE = re.compile(r"^episode_(\d{6,})\.h5(?:\.repair|\.write)?\.partial$")
INDEX_FILE = "index.json"


@dataclass
class EpisodeEntry:
    """One row of a dataset index. `error` is set (and the other fields are defaults) for unreadable files."""

    index: int
    path: str
    length: int = 0
    success: bool = False
    embodiment: str = ""
    task: str = ""
    fps: float = 0.0
    repaired: bool = False
    duration_s: float = 0.0
    error: str | None = None


class EpisodeDataset:
    """A directory of episodes. Creating one creates the directory if `create=True`."""

    def __init__(self, root: str | Path, *, create: bool = False):
        self.root = Path(root)
        if create:
            self.root.mkdir(parents=True, exist_ok=True)
        elif not self.root.is_dir():
            raise InputError(f"{self.root}: no such dataset directory")

    def path_for(self, index: int) -> Path:
        return self.root / episode_filename(index)

    def indices(self) -> list[int]:
        """Indices of finished episode files, sorted."""
        return sorted(int(m.group(1)) for p in self.root.iterdir() if (m := _EPISODE_RE.match(p.name)))

    def partials(self) -> list[Path]:
        """Partial recordings (a crash, or a recording in progress), sorted by name."""
        return sorted(p for p in self.root.iterdir() if _PARTIAL_RE.match(p.name))

    def next_index(self) -> int:
        """One past the largest index of a finished or partial episode."""
        used = self.indices() + [int(_PARTIAL_RE.match(p.name).group(1)) for p in self.partials()]
        return max(used) + 1 if used else 0

    def __len__(self) -> int:
        return len(self.indices())

    def __iter__(self):
        return (self.path_for(i) for i in self.indices())

    def entry(self, index: int) -> EpisodeEntry:
        """Index row of one episode; unreadable files give an entry with `error` set instead of raising."""
        from lad_core.episodes.reader import EpisodeReader

        path = self.path_for(index)
        try:
            with EpisodeReader(path, check_embodiment=False) as r:
                ts = r.timestamps
                return EpisodeEntry(index, str(path), len(r), r.info.success, r.info.embodiment, r.info.task,
                                    r.info.fps, r.info.repaired, float(ts[-1] - ts[0]) if len(ts) else 0.0)
        except LadError as exc:
            return EpisodeEntry(index, str(path), error=str(exc))

    def index(self) -> list[EpisodeEntry]:
        """Index rows of every finished episode (reads only attributes and timestamps)."""
        return [self.entry(i) for i in self.indices()]

    def write_index(self) -> Path:
        """Write `index.json` (episodes and partial files) atomically and return its path."""
        rows = [asdict(e) for e in self.index()]
        doc = {"episodes": rows, "partials": [str(p) for p in self.partials()],
               "total_frames": sum(r["length"] for r in rows),
               "successes": sum(1 for r in rows if r["success"])}
        out = self.root / INDEX_FILE
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(json.dumps(doc, indent=2))
        os.replace(tmp, out)
        return out

    def delete(self, index: int) -> Path:
        """Delete a finished episode; returns the removed path."""
        path = self.path_for(index)
        if not path.exists():
            raise InputError(f"{path}: no episode {index} in {self.root}")
        path.unlink()
        return path

    def trim(self, index: int, start: int = 0, stop: int | None = None) -> int:
        """Keep frames [start, stop) of an episode (rewritten atomically); returns the new length."""
        return trim_episode(self.path_for(index), start, stop)

    def repair_all(self) -> list[Path]:
        """Repair every partial file whose final name is free; returns the repaired episode paths."""
        from lad_core.episodes.reader import repair_episode

        done = []
        for p in self.partials():
            final = p.with_name(p.name.split(EPISODE_SUFFIX)[0] + EPISODE_SUFFIX)
            if not final.exists() and p.name == final.name + PARTIAL_SUFFIX:
                done.append(repair_episode(p, final))
        return done


def trim_episode(path: str | Path, start: int = 0, stop: int | None = None) -> int:
    """Rewrite an episode file keeping frames [start, stop); timestamps are shifted to start at 0.

    Negative indices count from the end like Python slices. Returns the new length.
    """
    from lad_core.episodes.reader import EpisodeReader
    from lad_core.episodes.writer import write_episode

    path = Path(path)
    with EpisodeReader(path, check_embodiment=False) as r:
        n = len(r)
        lo, hi, _ = slice(start, stop).indices(n)
        if hi - lo <= 0:
            raise InputError(f"{path}: trimming to frames [{start}, {stop}) of {n} leaves nothing")
        data = r.load(lo, hi)
    data.timestamps = data.timestamps - data.timestamps[0]
    data.info.num_frames = hi - lo
    data.info.extra = {**(data.info.extra or {}), "trimmed_from": [int(lo), int(hi), int(n)]}
    write_episode(path, data, overwrite=True)
    return hi - lo

"""The frame-source interface and its registry (entry-point group ``lad.frame_sources``).

A source is an iterable of `SourceFrame`s: images for the detector, or hands it already knows (synthetic, replay).
Built-in sources register in ``pyproject.toml`` exactly as a plugin's would::

    [project.entry-points."lad.frame_sources"]
    mysource = "my_package.module:MySource"

The entry point names a `FrameSource` subclass; `open_source("mysource:ARG", **options)` calls
``MySource.from_spec("ARG", **options)``. Entry points are loaded only when a source is opened, and a broken plugin
is logged and skipped, never fatal.
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from lad_core.errors import InputError
from lad_core.tracking.types import SourceFrame

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "lad.frame_sources"
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}
LANDMARK_SUFFIXES = {".h5", ".hdf5", ".npy"}


class FrameSource(ABC):
    """Base class of all frame sources.

    Subclasses set `name`, implement `_frames()` and may override `close()`. `live` says whether frames come at
    their own pace (a camera, a paced video, the synthetic hand): the threaded pipeline then drops stale frames
    rather than queueing them. Iterating yields `SourceFrame`s until the source ends; a source that fails mid-stream
    raises `InputError` from the iterator.
    """

    name: ClassVar[str] = "source"
    live: bool = False

    @classmethod
    def from_spec(cls, target: str, **options: Any) -> "FrameSource":
        """Build the source from the text after ``NAME:`` in a source spec (may be empty)."""
        return cls(target, **options) if target else cls(**options)  # type: ignore[call-arg]

    @abstractmethod
    def _frames(self) -> Iterator[SourceFrame]: ...

    def __iter__(self) -> Iterator[SourceFrame]:
        return self._frames()

    def close(self) -> None:
        """Release devices and files; safe to call twice."""

    def __enter__(self) -> "FrameSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> str:
        return self.name


class Pacer:
    """Sleeps so that frame timestamps are replayed at wall-clock speed (used by paced files and synthetic)."""

    def __init__(self) -> None:
        self._start: float | None = None

    def wait(self, media_time: float) -> None:
        now = time.monotonic()
        if self._start is None:
            self._start = now - media_time
        delay = self._start + media_time - now
        if delay > 0:
            time.sleep(delay)


def available_sources() -> dict[str, type[FrameSource]]:
    """Registered source classes by name; broken entry points are logged and skipped.

    The built-ins are always present (also in a checkout whose package metadata predates them); an entry point
    of the same name takes precedence.
    """
    from lad_core import plugins

    found: dict[str, type[FrameSource]] = dict(_builtin_sources())
    loaded, failures = plugins.discover(ENTRY_POINT_GROUP)
    for failure in failures:
        log.warning("frame source plugin failed to load: %s", failure)
    for name, cls in loaded.items():
        if not (isinstance(cls, type) and issubclass(cls, FrameSource)):
            log.warning("frame source plugin %r (%r) is not a FrameSource subclass; skipped", name, cls)
            continue
        found[name] = cls
    return found


def _builtin_sources() -> dict[str, type[FrameSource]]:
    from lad_core.tracking.sources.camera import WebcamSource
    from lad_core.tracking.sources.images import ImageFolderSource
    from lad_core.tracking.sources.replay import LandmarkReplaySource
    from lad_core.tracking.sources.synthetic import SyntheticHandSource
    from lad_core.tracking.sources.video import VideoFileSource

    return {"webcam": WebcamSource, "video": VideoFileSource, "images": ImageFolderSource,
            "replay": LandmarkReplaySource, "synthetic": SyntheticHandSource}  # fmt: skip


def resolve_spec(spec: str) -> tuple[str, str]:
    """Split a source spec into (source name, target).

    ``NAME:TARGET`` picks a registered source explicitly. Otherwise: ``synthetic``; a bare integer is a webcam
    index; an existing folder is an image folder; ``.h5``/``.hdf5``/``.npy`` a landmark replay; anything else a
    video file.
    """
    spec = str(spec).strip()
    if not spec:
        raise InputError("empty source: give a video file, an image folder, a landmark file, a webcam index or 'synthetic'")
    head, sep, rest = spec.partition(":")
    if sep and head and len(head) > 1 and head.replace("_", "").replace("-", "").isalnum() and not Path(spec).exists():
        return head, rest
    if spec == "synthetic":
        return "synthetic", ""
    if spec.isdigit():
        return "webcam", spec
    path = Path(spec)
    if path.is_dir():
        return "images", spec
    if path.suffix.lower() in LANDMARK_SUFFIXES:
        return "replay", spec
    return "video", spec


def open_source(spec: str, **options: Any) -> FrameSource:
    """Open a frame source from a spec string (see `resolve_spec`); options go to the source's constructor."""
    name, target = resolve_spec(spec)
    sources = available_sources()
    if name not in sources:
        raise InputError(f"unknown frame source {name!r} in {spec!r}; available: {', '.join(sorted(sources))}")
    return sources[name].from_spec(target, **options)

"""A folder of still images, in name order, each an independent frame."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from lad_core.errors import InputError
from lad_core.tracking.sources.base import FrameSource
from lad_core.tracking.types import SourceFrame

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def read_rgb(path: str | Path):
    """Read one image file as an (H, W, 3) uint8 RGB array, or raise `InputError` naming it."""
    import cv2
    import numpy as np

    path = Path(path)
    if not path.is_file():
        raise InputError(f"image {path}: file not found")
    data = np.fromfile(path, dtype=np.uint8)
    bgr = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if bgr is None:
        raise InputError(f"image {path}: cannot be decoded (corrupt or not an image)")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


class ImageFolderSource(FrameSource):
    """Images of `folder` (optionally recursive), timestamps index / fps.

    Photos are unrelated to each other, so a pipeline should run the detector in IMAGE mode for this source
    (`prefers_image_mode`). An unreadable file raises `InputError` unless ``skip_unreadable=True``.
    """

    name = "images"
    prefers_image_mode = True

    def __init__(self, folder: str | Path, *, fps: float = 30.0, recursive: bool = False, skip_unreadable: bool = False,
                 **_ignored: object):  # fmt: skip
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise InputError(f"image folder {self.folder}: not a folder")
        pattern = "**/*" if recursive else "*"
        self.paths = sorted(p for p in self.folder.glob(pattern) if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        if not self.paths:
            raise InputError(f"image folder {self.folder}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        self.fps, self.skip_unreadable = float(fps), bool(skip_unreadable)

    def _frames(self) -> Iterator[SourceFrame]:
        import logging

        index = 0
        for path in self.paths:
            try:
                rgb = read_rgb(path)
            except InputError:
                if not self.skip_unreadable:
                    raise
                logging.getLogger(__name__).warning("skipping unreadable image %s", path)
                continue
            yield SourceFrame(index=index, timestamp=index / self.fps, image=rgb)
            index += 1

    def describe(self) -> str:
        return f"images {self.folder} ({len(self.paths)} files)"

"""Side-by-side views of the human hand and every robot, updated live, with keyvectors drawn.

Three implementations share one interface (`show_frame(frame)`, `counter`, `screenshot(path)`, `close_view()`,
`backend`); `make_hands_view` picks one:
- `OrbitHandsView` (app/views/orbit3d.py, "3d"): perspective 3D painted with QPainter from one linked orbit
  camera; no OpenGL, so it keeps video rate under Xvfb + llvmpipe. The default on software or missing OpenGL.
- `HandsView3D` ("gl"): pyvistaqt, one QtInteractor with one viewport per hand and linked cameras. The default on a
  hardware OpenGL renderer; on software GL its QOpenGLWidget makes Qt compose the whole window through GL.
- `HandsView2D` ("2d"): pyqtgraph y-z projections (seen from the back of the hand), also used by small panel views.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field

import numpy as np
from PySide6 import QtWidgets

from lad_core.studio.geometry import KEYVECTOR_PAIRS, HandDrawing


@dataclass
class DrawnHand:
    """A robot entry of a HandsFrame."""

    drawing: HandDrawing


@dataclass
class HandsFrame:
    """What the hand views draw besides live StudioFrames (same attributes): replays, latent decodes, previews."""

    human: HandDrawing | None = None
    robots: dict = field(default_factory=dict)
    ghosts: dict = field(default_factory=dict)  # name -> DrawnHand drawn translucent over that view (previews)

log = logging.getLogger(__name__)
_KV_CELLS = np.hstack([np.full((len(KEYVECTOR_PAIRS), 1), 2), KEYVECTOR_PAIRS]).ravel()
COLORS = {"human": "#f0c8a0", "faive": "#7fb3ff", "mimic": "#9be28f", "gripper": "#d0a0ff"}


def _drawing_of(frame, name: str) -> HandDrawing | None:
    if name == "human":
        return frame.human
    robot = frame.robots.get(name)
    return robot.drawing if robot is not None else None


class _Counter:
    """Render updates per second over the last second (the status bar's 3D fps)."""

    def __init__(self):
        self.count = 0
        self._times: list[float] = []

    def tick(self) -> None:
        self.count += 1
        now = time.monotonic()
        self._times.append(now)
        while self._times and now - self._times[0] > 1.0:
            self._times.pop(0)

    @property
    def fps(self) -> float:
        return float(len(self._times))


class HandsView3D(QtWidgets.QWidget):
    backend = "pyvista"

    def __init__(self, names: list[str], parent=None):
        super().__init__(parent)
        import pyvista as pv
        from pyvistaqt import QtInteractor

        self.names = list(names)
        self.counter = _Counter()
        self.plotter = QtInteractor(self, shape=(1, len(self.names)), border=False, multi_samples=0,
                                    line_smoothing=False, point_smoothing=False, auto_update=False)
        self.plotter.set_background("#1e1e24")
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.plotter.interactor)
        self._meshes: dict[str, tuple] = {}
        self._ghosts: dict[str, tuple] = {}  # name -> (bones mesh, actor, point count): previews drawn translucent
        self._pv = pv
        for i, name in enumerate(self.names):
            self.plotter.subplot(0, i)
            self.plotter.add_text(name, font_size=9, color="white")
            self._meshes[name] = None
        self.plotter.link_views()
        self._set_camera()

    def _set_camera(self) -> None:
        # Canonical frame: +x out of the palm (towards the viewer), +z up along the fingers.
        self.plotter.subplot(0, 0)
        self.plotter.camera_position = [(0.42, 0.0, 0.09), (0.0, 0.0, 0.09), (0.0, 0.0, 1.0)]
        self.plotter.camera.parallel_projection = True
        self.plotter.camera.parallel_scale = 0.13

    def _build(self, i: int, name: str, d: HandDrawing) -> tuple:
        pv = self._pv
        self.plotter.subplot(0, i)
        cells = np.hstack([np.full((len(d.segments), 1), 2), d.segments]).ravel()
        bones = pv.PolyData(d.points.copy(), lines=cells)
        joints = pv.PolyData(d.points.copy())
        color = COLORS.get(name, "#e0e0e0")
        self.plotter.add_mesh(bones, color=color, line_width=5, reset_camera=False)
        self.plotter.add_mesh(joints, color="#ff6060", point_size=7, render_points_as_spheres=True, reset_camera=False)
        kv = None
        if d.kv_points is not None:
            kv = pv.PolyData(d.kv_points.copy(), lines=_KV_CELLS)
            self.plotter.add_mesh(kv, color="#c8a838", line_width=1, reset_camera=False)
        return bones, joints, kv, len(d.points)

    def show_frame(self, frame) -> None:
        changed = False
        for i, name in enumerate(self.names):
            d = _drawing_of(frame, name)
            if d is None:
                continue
            meshes = self._meshes[name]
            if meshes is None or meshes[3] != len(d.points):
                meshes = self._meshes[name] = self._build(i, name, d)
            bones, joints, kv, _ = meshes
            bones.points[:] = d.points
            joints.points[:] = d.points
            bones.GetPoints().Modified()
            joints.GetPoints().Modified()
            if kv is not None and d.kv_points is not None:
                kv.points[:] = d.kv_points
                kv.GetPoints().Modified()
            changed = True
        changed |= self._show_ghosts(getattr(frame, "ghosts", None) or {})
        if changed:
            self.plotter.ren_win.Render()
            self.counter.tick()

    def _show_ghosts(self, ghosts: dict) -> bool:
        """Updates the translucent preview skeletons; hides those the frame has none for. True when any changed."""
        changed = False
        for i, name in enumerate(self.names):
            g = ghosts.get(name)
            entry = self._ghosts.get(name)
            if g is None:
                if entry is not None and entry[1].GetVisibility():
                    entry[1].SetVisibility(False)
                    changed = True
                continue
            d = g.drawing
            if entry is None or entry[2] != len(d.points):
                if entry is not None:
                    self.plotter.subplot(0, i)
                    self.plotter.remove_actor(entry[1])
                self.plotter.subplot(0, i)
                cells = np.hstack([np.full((len(d.segments), 1), 2), d.segments]).ravel()
                mesh = self._pv.PolyData(d.points.copy(), lines=cells)
                actor = self.plotter.add_mesh(mesh, color="white", opacity=0.4, line_width=4, reset_camera=False)
                entry = self._ghosts[name] = (mesh, actor, len(d.points))
            entry[0].points[:] = d.points
            entry[0].GetPoints().Modified()
            entry[1].SetVisibility(True)
            changed = True
        return changed

    def screenshot(self, path: str) -> None:
        self.plotter.screenshot(path)

    def close_view(self) -> None:
        self.plotter.close()


class HandsView2D(QtWidgets.QWidget):
    """One pyqtgraph plot per hand: the y-z plane seen from the back of the hand (-x; +y on the viewer's left)."""

    backend = "pyqtgraph"

    def __init__(self, names: list[str], parent=None):
        super().__init__(parent)
        import pyqtgraph as pg

        self.names = list(names)
        self.counter = _Counter()
        self.widget = pg.GraphicsLayoutWidget()
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.widget)
        self._items = {}
        for name in self.names:
            p = self.widget.addPlot(title=name)
            p.setAspectLocked(True)
            p.hideAxis("left")
            p.hideAxis("bottom")
            p.setRange(xRange=(-0.12, 0.12), yRange=(-0.03, 0.22), padding=0)
            p.disableAutoRange()
            p.setMenuEnabled(False)
            bones = p.plot(pen=pg.mkPen(COLORS.get(name, "#e0e0e0"), width=3), connect="pairs")
            kv = p.plot(pen=pg.mkPen("#ffd24d", width=1), connect="pairs")
            joints = pg.ScatterPlotItem(size=5, brush=pg.mkBrush("#ff6060"), pen=None)
            p.addItem(joints)
            ghost = p.plot(pen=pg.mkPen((255, 255, 255, 110), width=3), connect="pairs")
            self._items[name] = (bones, joints, kv, ghost)

    def show_frame(self, frame) -> None:
        for name in self.names:
            d = _drawing_of(frame, name)
            if d is None:
                continue
            bones, joints, kv, _ = self._items[name]
            yz = d.points[:, [1, 2]] * (-1, 1)  # seen from the back of the hand (-x): +y to the viewer's left
            seg = yz[d.segments.ravel()]
            bones.setData(seg[:, 0], seg[:, 1])
            joints.setData(pos=yz)
            if d.kv_points is not None:
                k = (d.kv_points[:, [1, 2]] * (-1, 1))[KEYVECTOR_PAIRS.ravel()]
                kv.setData(k[:, 0], k[:, 1])
        ghosts = getattr(frame, "ghosts", None) or {}
        for name, (_, _, _, item) in self._items.items():
            g = ghosts.get(name)
            if g is None:
                item.setData([], [])
                continue
            seg = (g.drawing.points[:, [1, 2]] * (-1, 1))[g.drawing.segments.ravel()]
            item.setData(seg[:, 0], seg[:, 1])
        self.counter.tick()

    def screenshot(self, path: str) -> None:
        self.widget.grab().save(path)

    def close_view(self) -> None:
        pass


def software_opengl() -> str | None:
    """The OpenGL renderer's name when it is a software one (llvmpipe, softpipe, SwiftShader), else None."""
    try:
        import pyvista as pv

        plotter = pv.Plotter(off_screen=True, window_size=(16, 16))
        plotter.ren_win.Render()
        caps = plotter.ren_win.ReportCapabilities()
        plotter.close()
    except Exception as exc:  # noqa: BLE001 - no OpenGL at all
        return f"no OpenGL ({exc})"
    for name in ("llvmpipe", "softpipe", "SwiftShader", "Software Rasterizer"):
        if name.lower() in caps.lower():
            return name
    return None


VIEWS = ("auto", "3d", "gl", "2d")


def make_hands_view(names: list[str], parent=None, prefer: str | None = None):
    """Returns (view, note). prefer (or $LAD_STUDIO_VIEW): "3d" QPainter orbit 3D, "gl" pyvistaqt OpenGL 3D, "2d"
    pyqtgraph projections, "auto" (default): "gl" on a hardware OpenGL renderer, "3d" on a software one or none,
    where pyvistaqt's QOpenGLWidget makes Qt compose the whole window through software GL (measured: ~10 view
    updates/s and ~370 ms UI stalls under Xvfb + llvmpipe, see benchmarks/README.md, Studio)."""
    prefer = prefer or os.environ.get("LAD_STUDIO_VIEW", "auto")
    if prefer not in VIEWS:
        raise ValueError(f"unknown hand view {prefer!r}; choose one of {', '.join(VIEWS)}")
    note = None
    if prefer == "auto":
        soft = software_opengl()
        if soft is None:
            prefer = "gl"
        else:
            prefer, note = "3d", f"software OpenGL ({soft}): 3D hand views painted without OpenGL (--view gl forces it)"
    if prefer == "gl":
        try:
            return HandsView3D(names, parent), None
        except Exception as exc:  # noqa: BLE001 - no OpenGL here: say so and fall back
            log.warning("OpenGL 3D view unavailable (%s); using the painted 3D view", exc)
            prefer, note = "3d", f"OpenGL 3D view unavailable ({exc}); 3D hand views painted without OpenGL"
    if prefer == "3d":
        from app.views.orbit3d import OrbitHandsView

        return OrbitHandsView(names, parent), note
    return HandsView2D(names, parent), note

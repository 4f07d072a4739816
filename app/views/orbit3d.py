"""3D hand views painted with QPainter from one shared orbit camera: real 3D without OpenGL.

`OrbitHandsView` is one widget with a viewport per hand (human, robots, plugins). Each frame projects every
skeleton with the shared `OrbitCamera` (perspective), sorts bones, joints and keyvectors far to near and paints them,
nearer ones brighter and thicker, over a grid in the wrist plane and an axis triad (x red, y green, z blue). Mouse:
drag to orbit, right or middle drag (or Shift+drag) to pan, the wheel to zoom, double-click to reset; every viewport
follows (linked cameras). Ghost drawings (a rollout's next-chunk preview) are drawn translucent over the live hand.

This is what `--view auto` uses on software OpenGL (Xvfb + llvmpipe): there pyvistaqt's QOpenGLWidget makes Qt
compose the whole window through GL at ~10 updates/s, while this paints five hands in a few milliseconds.
"""

from __future__ import annotations

import math
import time
from collections import deque

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from lad_core.studio.orbit import BONE, JOINT, KEYVECTOR, OrbitCamera, depth_sorted

BACKGROUND = QtGui.QColor("#1e1e24")
KV_COLOR = "#ffd24d"
JOINT_COLOR = "#ff6060"
GHOST_COLOR = "#ffffff"
SHADES = 4  # depth bands of colour: the farthest quarter fades 55 % towards the background, the nearest not at all
GRID_HALF, GRID_STEP = 0.10, 0.025
TRIAD = 0.03
HINT = "drag: orbit · right/middle drag or Shift+drag: pan · wheel: zoom · double-click: reset (all views linked)"


def _mix(color: str, towards: QtGui.QColor, t: float) -> QtGui.QColor:
    c = QtGui.QColor(color)
    return QtGui.QColor(round(c.red() + (towards.red() - c.red()) * t),
                        round(c.green() + (towards.green() - c.green()) * t),
                        round(c.blue() + (towards.blue() - c.blue()) * t))


class OrbitHandsView(QtWidgets.QWidget):
    """Side-by-side 3D views of `names` (the `HandsView2D`/`HandsView3D` interface: show_frame, counter,
    screenshot, close_view). `counter` counts frames actually painted, not frames handed in."""

    backend = "qpainter-3d"

    def __init__(self, names: list[str], parent=None, camera: OrbitCamera | None = None):
        super().__init__(parent)
        from app.views.hands3d import COLORS, _Counter

        self.names = list(names)
        self.counter = _Counter()
        self.camera = camera or OrbitCamera()
        self._colors = COLORS
        self._drawings: dict = {}
        self._ghosts: dict = {}
        self._fresh = False  # a frame came in since the last paint
        self._drag: tuple | None = None
        self._pens: dict = {}
        self.paint_ms: deque[float] = deque(maxlen=2000)  # recent paintEvent durations, ms
        self.setMinimumSize(200, 150)
        self.setMouseTracking(False)
        self.setFocusPolicy(QtCore.Qt.ClickFocus)
        self.setAttribute(QtCore.Qt.WA_OpaquePaintEvent)  # paintEvent fills everything: no background erase
        self.setToolTip(HINT)

    # -------------------------------------------------------------------------------------------- data
    def show_frame(self, frame) -> None:
        """Takes the drawings of a StudioFrame or HandsFrame (names missing from it keep their last drawing) and
        schedules one repaint; several frames before the paint cost one paint."""
        from app.views.hands3d import _drawing_of

        for name in self.names:
            d = _drawing_of(frame, name)
            if d is not None:
                self._drawings[name] = d
        self._ghosts = {n: g.drawing for n, g in (getattr(frame, "ghosts", None) or {}).items() if n in self.names}
        self._fresh = True
        self.update()

    def clear(self) -> None:
        self._drawings.clear()
        self._ghosts.clear()
        self.update()

    # -------------------------------------------------------------------------------------------- layout
    def viewports(self) -> list[QtCore.QRectF]:
        """One rectangle per name: a single row when the widget is wide enough, else the most square grid."""
        n = max(1, len(self.names))
        w, h = max(1, self.width()), max(1, self.height())
        best = None
        for rows in range(1, n + 1):
            cols = math.ceil(n / rows)
            cell = min(w / cols / 0.8, h / rows)  # viewports a little taller than wide suit a hand
            if best is None or cell > best[0] + 1e-9:
                best = (cell, rows, cols)
        _, rows, cols = best
        cw, ch = w / cols, h / rows
        return [QtCore.QRectF((i % cols) * cw, (i // cols) * ch, cw, ch) for i in range(n)]

    def viewport_at(self, pos: QtCore.QPointF) -> QtCore.QRectF:
        for r in self.viewports():
            if r.contains(pos):
                return r
        return self.viewports()[0]

    # -------------------------------------------------------------------------------------------- painting
    def _pen(self, key: tuple, color: QtGui.QColor, width: float) -> QtGui.QPen:
        pen = self._pens.get(key)
        if pen is None:
            pen = self._pens[key] = QtGui.QPen(color, width, QtCore.Qt.SolidLine, QtCore.Qt.RoundCap)
        return pen

    def _scene_lines(self, w: float, h: float) -> tuple[list, list]:
        """The grid's and the axis triad's pixel lines for this camera pose and viewport size (cached)."""
        key = (self.camera.azimuth, self.camera.elevation, self.camera.distance, tuple(self.camera.target), w, h)
        if getattr(self, "_scene_key", None) != key:
            ticks = np.arange(-GRID_HALF, GRID_HALF + 1e-9, GRID_STEP)
            ends = []
            for t in ticks:
                ends += [(t, -GRID_HALF, 0.0), (t, GRID_HALF, 0.0), (-GRID_HALF, t, 0.0), (GRID_HALF, t, 0.0)]
            uv, depth = self.camera.project(np.array(ends), w, h)
            grid = [QtCore.QLineF(*uv[i], *uv[i + 1]) for i in range(0, len(uv), 2) if min(depth[i], depth[i + 1]) > 0]
            axes = np.array([(0, 0, 0), (TRIAD, 0, 0), (0, TRIAD, 0), (0, 0, TRIAD)], dtype=float)
            uv, depth = self.camera.project(axes, w, h)
            triad = [QtCore.QLineF(*uv[0], *uv[k]) for k in (1, 2, 3)] if depth.min() > 0 else []
            self._scene_key, self._scene_cache = key, (grid, triad)
        return self._scene_cache

    def paintEvent(self, event) -> None:  # noqa: N802 - Qt API
        t0 = time.perf_counter()
        p = QtGui.QPainter(self)
        p.fillRect(self.rect(), BACKGROUND)
        p.setRenderHint(QtGui.QPainter.Antialiasing, True)
        for name, rect in zip(self.names, self.viewports()):
            p.save()
            p.setClipRect(rect)
            p.translate(rect.topLeft())
            self._paint_scene(p, rect.width(), rect.height())
            d = self._drawings.get(name)
            if d is not None:
                self._paint_hand(p, name, d, rect.width(), rect.height())
            ghost = self._ghosts.get(name)
            if ghost is not None:
                self._paint_hand(p, name, ghost, rect.width(), rect.height(), ghost=True)
            p.setPen(QtGui.QColor("white"))
            title = name if d is not None else f"{name} (no data yet)"
            p.drawText(QtCore.QPointF(6, 15), f"{title} · white: preview" if ghost is not None else title)
            p.restore()
            p.setPen(QtGui.QColor("#3a3a44"))
            p.drawRect(rect.adjusted(0, 0, -1, -1))
        p.end()
        if self._fresh:
            self._fresh = False
            self.counter.tick()
        self.paint_ms.append((time.perf_counter() - t0) * 1e3)

    def _paint_scene(self, p: QtGui.QPainter, w: float, h: float) -> None:
        """A grid in the wrist plane (z = 0) and the canonical axes at the wrist."""
        grid, triad = self._scene_lines(w, h)
        p.setPen(self._pen(("grid",), QtGui.QColor("#34343e"), 1.0))
        p.drawLines(grid)
        for k, (line, color) in enumerate(zip(triad, ("#e05050", "#50c050", "#5080f0"))):
            p.setPen(self._pen(("axis", k), QtGui.QColor(color), 2.0))
            p.drawLine(line)

    def _paint_hand(self, p: QtGui.QPainter, name: str, drawing, w: float, h: float, ghost: bool = False) -> None:
        """Bones, keyvectors and joints far to near (the painter's algorithm), one draw call each.

        Sizes follow perspective (nearer is thicker, in quarter steps) and colours fade towards the background with
        depth (SHADES bands); pens are cached per (kind, band, size) and switched only when that changes along the
        order. Measured: one path or point set per band and kind is ~2x slower to rasterize than single lines."""
        prim = depth_sorted(drawing, self.camera, w, h)
        if not len(prim.kind):
            return
        size = np.clip(self.camera.distance / np.maximum(prim.depth, 1e-3) * h / 400.0, 0.4, 3.0)
        quarters = np.round(size * 4).astype(int).tolist()
        bands = np.minimum((prim.shade * SHADES).astype(int), SHADES - 1).tolist()
        kinds = prim.kind.tolist()
        a, b = prim.a.tolist(), prim.b.tolist()
        if ghost:
            p.setOpacity(0.45)
        current = None
        line, point = QtCore.QLineF, QtCore.QPointF
        for k, band, q, (ax, ay), (bx, by) in zip(kinds, bands, quarters, a, b):
            key = (name, ghost, k, band, q)
            if key != current:
                current = key
                p.setPen(self._style(key))
            if k == JOINT:
                p.drawPoint(point(ax, ay))  # a round dot: joints' pens are wide with round caps
            else:
                p.drawLine(line(ax, ay, bx, by))
        p.setOpacity(1.0)

    def _style(self, key: tuple) -> QtGui.QPen:
        """The pen of a (name, ghost, kind, depth band, size in quarters) key; joints are round points of a wide pen."""
        pen = self._pens.get(key)
        if pen is None:
            name, ghost, k, band, q = key
            base = {BONE: GHOST_COLOR if ghost else self._colors.get(name, "#e0e0e0"), KEYVECTOR: KV_COLOR,
                    JOINT: GHOST_COLOR if ghost else JOINT_COLOR}[k]
            color = _mix(base, BACKGROUND, 0.55 * band / max(1, SHADES - 1))
            width = {BONE: 5.0, KEYVECTOR: 1.2, JOINT: 6.5}[k] * q / 4
            pen = QtGui.QPen(color, max(1.0, width), QtCore.Qt.SolidLine, QtCore.Qt.RoundCap, QtCore.Qt.RoundJoin)
            self._pens[key] = pen
        return pen

    # -------------------------------------------------------------------------------------------- mouse
    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        pan = event.button() in (QtCore.Qt.RightButton, QtCore.Qt.MiddleButton) or bool(
            event.modifiers() & QtCore.Qt.ShiftModifier)
        self._drag = ("pan" if pan else "orbit", event.position(), self.viewport_at(event.position()).height())
        event.accept()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802 - Qt API
        if self._drag is None:
            return
        mode, last, height = self._drag
        pos = event.position()
        dx, dy = pos.x() - last.x(), pos.y() - last.y()
        if mode == "orbit":
            self.camera.orbit(dx, dy)
        else:
            self.camera.pan(dx, dy, height)
        self._drag = (mode, pos, height)
        self.update()

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802 - Qt API
        self._drag = None

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802 - Qt API
        self.camera.reset()
        self.update()

    def wheelEvent(self, event) -> None:  # noqa: N802 - Qt API
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.camera.zoom(1.15 ** steps)
            self.update()
        event.accept()

    # -------------------------------------------------------------------------------------------- the view API
    def screenshot(self, path: str) -> None:
        self.grab().save(path)

    def close_view(self) -> None:
        self._drawings.clear()
        self._ghosts.clear()

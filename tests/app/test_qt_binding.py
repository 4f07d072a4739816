"""The Qt binding must not leak references to None while painting (PySide6 6.12.0 does, and the studio then aborts
with "Fatal Python error: none_dealloc" after ~20 s of live views on Python 3.11)."""

import sys


def test_painting_a_plot_does_not_drop_references_to_none(qtbot):
    import pyqtgraph as pg

    widget = pg.PlotWidget()
    qtbot.addWidget(widget)
    widget.plot([1, 2, 3], [3, 1, 2])
    widget.resize(200, 150)
    widget.show()
    qtbot.waitExposed(widget)
    before = sys.getrefcount(None)
    for _ in range(500):
        widget.repaint()
    assert sys.getrefcount(None) - before > -50  # one lost reference per paint would be -500

"""The keyboard shortcuts and the 3D views' mouse gestures, listed in a dialog (F1)."""

from __future__ import annotations

from PySide6 import QtWidgets

SHORTCUTS = (
    ("Recording (any tab but Rollout)", (("Space", "start recording"), ("Right", "save this episode and start the next"),
                                         ("Left", "re-record (discard the take, or redo the last episode)"),
                                         ("Esc", "stop and save"))),
    ("Rollout tab", (("Space / Esc", "EMERGENCY STOP"),)),
    ("Always", (("Ctrl+E", "emergency stop"), ("Ctrl+Z / Ctrl+Shift+Z", "undo / redo scale changes (Scales tab)"),
                ("Ctrl+1..5", "switch tab"), ("F1", "this help"), ("Ctrl+Q", "quit"))),
    ("3D hand views (mouse; all views follow)", (("drag", "orbit"), ("right/middle drag, Shift+drag", "pan"),
                                                 ("wheel", "zoom"), ("double-click", "reset the camera"))),
)


class ShortcutsDialog(QtWidgets.QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setWindowTitle("LAD Studio: keyboard shortcuts")
        rows = sum(len(items) for _, items in SHORTCUTS)
        self.table = QtWidgets.QTableWidget(rows, 3)
        self.table.setHorizontalHeaderLabels(["context", "key", "action"])
        self.table.setEditTriggers(QtWidgets.QAbstractItemView.NoEditTriggers)
        r = 0
        for context, items in SHORTCUTS:
            for key, action in items:
                for c, v in enumerate((context, key, action)):
                    self.table.setItem(r, c, QtWidgets.QTableWidgetItem(v))
                r += 1
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        close = QtWidgets.QPushButton("Close")
        close.clicked.connect(self.accept)
        lay = QtWidgets.QVBoxLayout(self)
        lay.addWidget(self.table)
        lay.addWidget(close)
        self.resize(620, 440)

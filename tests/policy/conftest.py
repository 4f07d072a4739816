"""Policy tests run torch on one thread (the machine is shared)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _few_threads():
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)

"""What the inbox tests share: an empty inbox and an empty lake per test."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def inbox(tmp_path) -> Path:
    path = tmp_path / "inbox"
    path.mkdir()
    return path


@pytest.fixture
def lake(tmp_path) -> Path:
    return tmp_path / "lake"

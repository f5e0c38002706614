"""Shared test fixtures: where the real data lives, and a skip when it is absent."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
REALDATA = REPO.parent / "shared" / "realdata"


@pytest.fixture(scope="session")
def realdata() -> Path:
    """The shared real datasets beside the checkout (../shared/realdata)."""
    if not REALDATA.is_dir():
        pytest.skip(f"real data not found at {REALDATA}: these tests need ../shared/realdata beside the checkout")
    return REALDATA

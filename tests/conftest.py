"""Shared fixtures: real SQLite files in tmp_path and the bundled sample exports."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def sample_export() -> Path:
    return FIXTURES / "sample_channel_export.json"


@pytest.fixture
def repost_export() -> Path:
    return FIXTURES / "repost_channel_export.json"

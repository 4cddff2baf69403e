"""Shared fixtures: real SQLite files in tmp_path and the bundled sample exports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlite_utils import Database

from bot.storage.db import open_db

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


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """A real SQLite file with the full schema."""
    database = open_db(tmp_path / "tgdigest.sqlite")
    yield database
    database.close()

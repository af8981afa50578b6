"""Shared pytest configuration: environment isolation for every test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.settings import PROJECT_ROOT, get_settings

os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")

MODEL_PATH = PROJECT_ROOT / "models" / "assistant.tar.gz"


@pytest.fixture(autouse=True)
def _isolated_var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Point var/ (databases, development keys) at a per-test temporary folder."""
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def trained_model() -> Path:
    """The model trained by `make train`; tests that need it fail clearly without it."""
    if not MODEL_PATH.exists():
        pytest.fail(f"{MODEL_PATH} is missing: run `make train` (or `make test`) first.")
    return MODEL_PATH

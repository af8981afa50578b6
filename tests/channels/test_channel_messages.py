"""What channels say by themselves lives in one catalogue (bot/resources/channel_messages.yml)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
import yaml

from bot.channel_messages import MESSAGES_FILE, channel_message
from bot.settings import PROJECT_ROOT

SOURCES = sorted((PROJECT_ROOT / "channels").glob("*.py")) + [PROJECT_ROOT / "bot" / "evidence.py"]
#: Words that only Indonesian text for citizens would contain.
INDONESIAN = re.compile(r"\b(anda|silakan|maaf|berkas|pilih|tidak|kami|halaman|pesan|sesi|"
                        r"terlalu|balas|mohon|laporan)\b", re.IGNORECASE)
CATALOGUE_CALLS = {"channel_message", "_refusal", "EvidenceRejected"}


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                found.add(id(body[0].value))
    return found


def _catalogue() -> dict[str, str]:
    return yaml.safe_load(MESSAGES_FILE.read_text(encoding="utf-8"))


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.name)
def test_no_citizen_text_in_code(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = _docstrings(tree)
    literals = [node.value for node in ast.walk(tree)
                if isinstance(node, ast.Constant) and isinstance(node.value, str)
                and id(node) not in docstrings and INDONESIAN.search(node.value)]
    assert literals == [], f"move these to {MESSAGES_FILE.name}: {literals}"


def test_every_name_used_is_in_the_catalogue_and_every_text_is_used() -> None:
    catalogue = _catalogue()
    used = set()
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                used |= {arg.value for arg in node.args if name in CATALOGUE_CALLS
                         and isinstance(arg, ast.Constant) and isinstance(arg.value, str)
                         and re.fullmatch(r"[a-z_]+", arg.value)}
    assert used - catalogue.keys() == set()
    assert catalogue.keys() - used == set()


def test_texts_are_polite_and_filled_in() -> None:
    for name, text in _catalogue().items():
        assert text.strip() and len(text) < 400, name
        assert "kamu" not in text.lower().split(), name  # citizens are addressed as "Anda"
    assert channel_message("file_too_large", size="5 MB").startswith("Berkas terlalu besar")
    assert channel_message("message_too_long", max_chars="4.096").count("4.096") == 1

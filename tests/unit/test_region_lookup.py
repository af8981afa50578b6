"""The committed NLU lookup table of regions equals what the build script generates."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml

from bot.regions import lookup_entries
from bot.settings import PROJECT_ROOT

SCRIPT = PROJECT_ROOT / "scripts" / "build_region_lookup.py"
LOOKUP = PROJECT_ROOT / "data" / "nlu" / "lookup_region.yml"


@pytest.fixture(scope="module")
def script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("build_region_lookup", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_committed_lookup_table_is_up_to_date(script: ModuleType) -> None:
    assert LOOKUP.read_text(encoding="utf-8") == script.render(), (
        "data/nlu/lookup_region.yml is out of date: run python scripts/build_region_lookup.py"
    )


def test_check_mode(script: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert script.main(["--check"]) == 0
    stale = tmp_path / "lookup_region.yml"
    stale.write_text("version: \"3.1\"\n", encoding="utf-8")
    assert script.main(["--check", "--output", str(stale)]) == 1
    assert script.main(["--output", str(stale)]) == 0
    assert stale.read_text(encoding="utf-8") == script.render()
    assert "out of date" in capsys.readouterr().out


def test_lookup_table_is_rasa_nlu_yaml() -> None:
    data = yaml.safe_load(LOOKUP.read_text(encoding="utf-8"))
    assert data["version"] == "3.1"
    [table] = data["nlu"]
    assert table["lookup"] == "region"
    examples = [line[2:] for line in table["examples"].splitlines()]
    assert examples == sorted(set(examples))
    assert examples == lookup_entries()


def test_lookup_entries_cover_the_forms_people_type() -> None:
    entries = set(lookup_entries())
    for form in ("kota pekalongan", "kabupaten pekalongan", "kab pekalongan", "kab. pekalongan",
                 "pekalongan", "jawa tengah", "provinsi jawa tengah", "jateng", "dki jakarta",
                 "jkt", "jaksel", "sby", "kota administrasi jakarta selatan", "jakarta selatan",
                 "kabupaten toli-toli", "kabupaten toli toli", "papua barat daya", "kota batu"):
        assert form in entries, form
    # Bare names that are ordinary words appear only with their qualifier.
    for word in ("batu", "puncak", "kota", "tanah datar"):
        assert word not in entries, word
    assert all(entry == entry.lower() and entry.strip() == entry for entry in entries)

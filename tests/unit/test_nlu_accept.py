"""`make nlu-accept`: labelled inbox entries go under their intent in a copy of the
project's data, with the file's layout kept, and every kind of bad entry is refused
and kept in the labelled file with its reason."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from bot.settings import PROJECT_ROOT
from bot.trainers import accept
from bot.trainers.accept import LabelledFileError, Project

HEADER = "# Trainers' inbox (test)\n"


@pytest.fixture
def project(tmp_path: Path) -> Project:
    root = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "data", root / "data")
    shutil.copytree(PROJECT_ROOT / "tests" / "nlu", root / "tests" / "nlu")
    for name in ("domain.yml", "config.yml"):
        shutil.copy(PROJECT_ROOT / name, root / name)
    return Project(root)


def first_example(path: Path, intent: str) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == f"- intent: {intent}")
    return next(line.strip()[2:] for line in lines[start + 1:] if line.strip().startswith("- "))


def labelled_file(tmp_path: Path, entries: list[dict]) -> Path:
    path = tmp_path / "inbox.yml"
    path.write_text(HEADER + yaml.safe_dump({"thresholds": {"min_confidence": 0.6},
                                             "entries": entries}, allow_unicode=True),
                    encoding="utf-8")
    return path


def test_accepts_into_the_file_holding_the_intent(project: Project, tmp_path: Path) -> None:
    report = project.nlu_dir / "report.yml"
    faq = project.nlu_dir / "faq.yml"
    before = {path: path.read_text(encoding="utf-8") for path in (report, faq)}
    path = labelled_file(tmp_path, [
        {"text": "mau bikin aduan soal kampanye hitam di grup wa", "label": "report_violation"},
        {"text": "masa tenang pilkada kapan ya min mulainya", "label": "faq/quiet_period"},
        {"text": "belum dilabeli", "label": None},
        {"text": "juga belum", "label": ""},
    ])
    outcome = accept.accept(path, project, run_validate=False)
    assert [(text, label) for text, label, _ in outcome.accepted] == [
        ("mau bikin aduan soal kampanye hitam di grup wa", "report_violation"),
        ("masa tenang pilkada kapan ya min mulainya", "faq/quiet_period")]
    assert outcome.refused == [] and outcome.blank == 2

    # Only lines were added, each under its intent's examples; comments stay.
    for file, text, intent in ((report, "mau bikin aduan soal kampanye hitam di grup wa",
                                "report_violation"),
                               (faq, "masa tenang pilkada kapan ya min mulainya",
                                "faq/quiet_period")):
        old, new = before[file].splitlines(), file.read_text(encoding="utf-8").splitlines()
        added = [line for line in new if line not in old]
        assert len(new) == len(old) + 1 and added[0].strip() == f"- {text}"
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
        block = next(item for item in data["nlu"] if item.get("intent") == intent)
        assert f"- {text}\n" in block["examples"]
    # The blank ones stay in the labelled file, the accepted ones left it.
    left = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert [entry["text"] for entry in left["entries"]] == ["belum dilabeli", "juga belum"]
    assert path.read_text(encoding="utf-8").startswith(HEADER)


def test_refusals(project: Project, tmp_path: Path) -> None:
    test_text = first_example(project.test_dir / "test_set.yml", "greet")
    training_text = first_example(project.nlu_dir / "faq.yml", "faq/what_is_bawaslu")
    question = first_example(project.test_dir / "test_set.yml", "faq/quiet_period")
    entries = [
        {"text": "mau lapor politik uang di desa", "label": "no_such_intent"},
        {"text": "mau lapor politik uang di desa", "label": "faq/no_such_topic"},
        {"text": "mau lapor politik uang di desa", "label": "faq"},
        {"text": "mau lapor politik uang di desa", "label": "nlu_fallback"},
        {"text": test_text.upper() + "!!", "label": "greet"},
        {"text": "  " + training_text.replace(" ", "  ") + "?", "label": "faq/what_is_bawaslu"},
        {"text": "hubungi saya di 0812 3456 7890 soal hoaks", "label": "report_violation"},
        {"text": "nama saya Budi mau lapor", "label": "report_violation"},
        {"text": "email budi@contoh.id", "label": "report_violation"},
        {"text": "ada [serangan fajar](category) di rt", "label": "report_violation"},
        {"text": "baris satu\n- baris dua", "label": "report_violation"},
        {"text": "x" * 400, "label": "report_violation"},
        {"text": "ada amplop di tps 5 pagi tadi", "label": "report_violation"},
        {"text": "Ada amplop di TPS 5, pagi tadi!", "label": "report_violation"},
        {"text": "ok", "label": "Report Violation; rm -rf"},
        "not a mapping",
        {"text": 12345, "label": "greet"},
        {"text": question + " ya min", "label": "faq/quiet_period"},
    ]
    path = labelled_file(tmp_path, entries)
    outcome = accept.accept(path, project, run_validate=False)
    reasons = dict(outcome.refused)
    assert [text for text, _, _ in outcome.accepted] == ["ada amplop di tps 5 pagi tadi"]
    expected = {
        1: "unknown intent 'no_such_intent'",
        2: "unknown FAQ topic 'faq/no_such_topic'",
        3: "unknown intent 'faq': pick a topic",
        4: "unknown intent 'nlu_fallback'",
        5: "held-out test set",
        6: "already a training example (of faq/what_is_bawaslu)",
        7: "personal data still in the text (<telepon>)",
        8: "personal data still in the text (<nama>)",
        9: "personal data still in the text (<email>)",
        10: "entity markup",
        11: "line break",
        12: "longer than 300",
        14: "an earlier entry of this file",
        15: "is not an intent name",
        16: "not a mapping",
        17: "has no text",
        18: "a held-out test message slightly reworded",
    }
    assert sorted(reasons) == sorted(expected)
    for number, part in expected.items():
        assert part in reasons[number], (number, reasons[number])
    # Refused entries stay in the file with their reason; nothing personal is printed.
    left = yaml.safe_load(path.read_text(encoding="utf-8"))["entries"]
    assert len(left) == len(entries) - 2  # the accepted one, and the non-mapping
    assert all(entry.get("refused") for entry in left)
    report = (project.nlu_dir / "report.yml").read_text(encoding="utf-8")
    assert "0812" not in report and "Budi" not in report and "serangan fajar](" not in report


def test_hostile_labelled_files(project: Project, tmp_path: Path) -> None:
    path = tmp_path / "inbox.yml"
    path.write_text("!!python/object/apply:os.system ['touch pwned']\n", encoding="utf-8")
    with pytest.raises(LabelledFileError, match="no valid YAML"):
        accept.accept(path, project, run_validate=False)
    path.write_text("entries: " + "x" * (accept.MAX_FILE_BYTES + 1), encoding="utf-8")
    with pytest.raises(LabelledFileError, match="bytes"):
        accept.accept(path, project, run_validate=False)
    path.write_text("- just a list\n", encoding="utf-8")
    with pytest.raises(LabelledFileError, match="entries"):
        accept.accept(path, project, run_validate=False)
    assert not (tmp_path / "pwned").exists()


def test_command_line_reports(project: Project, tmp_path: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    path = labelled_file(tmp_path, [
        {"text": "status aduan saya sampai mana ya kak", "label": "check_status"},
        {"text": "wa saya 081234567890", "label": "check_status"},
        {"text": "nanti dulu", "label": None},
    ])
    assert accept.main([str(path), "--project", str(project.root), "--no-validate"]) == 0
    out = capsys.readouterr().out
    assert "accepted: 'status aduan saya sampai mana ya kak' -> check_status " \
           "(data/nlu/status.yml)" in out
    assert "refused: entry 2: personal data still in the text (<telepon>)" in out
    assert "081234567890" not in out
    assert out.strip().splitlines()[-1].startswith("1 accepted, 1 refused, 1 left blank")


def test_failed_validation_changes_nothing(project: Project, tmp_path: Path) -> None:
    (project.root / "data" / "stories" / "broken.yml").write_text(
        'version: "3.1"\nstories:\n- story: broken\n  steps:\n  - intent: greet\n'
        "  - action: utter_no_such_response\n", encoding="utf-8")
    report = project.nlu_dir / "report.yml"
    before = report.read_bytes()
    path = labelled_file(tmp_path, [
        {"text": "mau bikin aduan soal kampanye hitam di grup wa", "label": "report_violation"}])
    labelled = path.read_bytes()
    with pytest.raises(LabelledFileError, match="rasa data validate failed"):
        accept.accept(path, project, run_validate=True)
    assert report.read_bytes() == before
    assert path.read_bytes() == labelled


def test_an_intent_in_several_files_gets_new_examples_in_the_file_holding_most(
        project: Project, tmp_path: Path) -> None:
    extra = project.nlu_dir / "aaa_extra.yml"
    extra.write_text('version: "3.1"\nnlu:\n  - intent: report_violation\n'
                     '    examples: |\n      - ada kasus nih\n', encoding="utf-8")
    files = accept.intent_files(project)
    assert files["report_violation"] == project.nlu_dir / "report.yml"

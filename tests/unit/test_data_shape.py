"""The shape of the NLU data decides whether `make reload` may re-fit only the
classifiers: examples without entities may come, go and move; anything the entity
side learns from may not."""

from __future__ import annotations

from pathlib import Path

from rasa.shared.nlu.training_data.loading import load_data

from bot.nlu.data_shape import nlu_shape

BASE = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - halo
    - selamat pagi
- intent: report_violation
  examples: |
    - saya mau lapor akun [@budi](account)
    - ada hoaks di [tiktok](platform)
- intent: faq/hoax
  examples: |
    - apa itu hoaks
- intent: faq/sara
  examples: |
    - apa itu sara
- synonym: tiktok
  examples: |
    - tik tok
- regex: ticket
  examples: |
    - LP-[0-9]{6}
"""


def shape_of(tmp_path: Path, text: str) -> str:
    path = tmp_path / "nlu.yml"
    path.write_text(text, encoding="utf-8")
    return nlu_shape(load_data(str(path)))


def test_examples_without_entities_keep_the_shape(tmp_path: Path) -> None:
    base = shape_of(tmp_path, BASE)
    added = BASE.replace("    - selamat pagi\n", "    - selamat pagi\n    - horas lae\n")
    moved = BASE.replace("    - apa itu hoaks\n", "    - apa itu hoaks\n    - sara itu apa\n")
    removed = BASE.replace("    - selamat pagi\n", "")
    assert shape_of(tmp_path, added) == base
    assert shape_of(tmp_path, moved) == base
    assert shape_of(tmp_path, removed) == base


def test_what_the_entity_side_learns_from_changes_the_shape(tmp_path: Path) -> None:
    base = shape_of(tmp_path, BASE)
    edits = [
        # an entity example added, changed, relabelled
        BASE.replace("    - halo\n", "    - halo, akun [@ani](account) nyebar hoaks\n"),
        BASE.replace("[@budi](account)", "[@budi_99](account)"),
        BASE.replace("[tiktok](platform)", "[tiktok](account)"),
        # a synonym, a regex, a new intent, a new FAQ topic
        BASE.replace("    - tik tok\n", "    - tiktod\n"),
        BASE.replace("LP-[0-9]{6}", "LP-[0-9]{8}"),
        BASE + "- intent: thank\n  examples: |\n    - makasih\n",
        BASE + "- intent: faq/quiet_period\n  examples: |\n    - kapan masa tenang\n",
    ]
    for edited in edits:
        assert shape_of(tmp_path, edited) != base, edited

"""Category detection from free text and the category table."""

from __future__ import annotations

import pytest

from bot.categories import categories, category_values, detect_category, get_category, label_for


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("min ada akun tiktok nyebar hoaks soal paslon 2", "hoaks"),
        ("ini HOAX parah", "hoaks"),
        ("berita bohong soal kpu", "hoaks"),
        ("video editan paslon", "hoaks"),
        ("ada ujaran kebencian di fb", "ujaran_kebencian"),
        ("postingan provokatif ngadu domba warga", "ujaran_kebencian"),
        ("kampanye hitam ke capres", "kampanye_hitam"),
        ("black campaign di youtube", "kampanye_hitam"),
        ("ada serangan fajar di desa", "politik_uang"),
        ("tim sukses bagi amplop", "politik_uang"),
        ("masih kampanye pas masa tenang", "kampanye_di_luar_jadwal"),
        ("pak kades ikut kampanye", "netralitas"),
        ("asn posting dukung calon", "netralitas"),
        ("konten sara soal etnis", "sara"),
        ("saya mau lapor", None),
        ("ada video di tiktok", None),
        # Two different categories named: let the user choose.
        ("hoaks dan politik uang sekaligus", None),
        # Words inside other words do not count.
        ("harasan", None),
        ("pasaran", None),
    ],
)
def test_detect_category(text: str, expected: str | None) -> None:
    assert detect_category(text) == expected


def test_every_category_has_a_short_enough_button_label() -> None:
    assert category_values()[-1] == "lainnya"
    for category in categories():
        assert category.label
        assert get_category(category.value) is category


def test_label_for_unknown_values() -> None:
    assert label_for("hoaks") == "Hoaks / berita bohong"
    assert label_for(None) == "-"
    assert label_for("x") == "x"


def test_button_titles_fit_chat_buttons() -> None:
    for category in categories():
        assert 0 < len(category.button_title) <= 20, category.value

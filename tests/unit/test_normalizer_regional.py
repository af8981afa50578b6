"""Javanese, Sundanese and Betawi words in the normaliser (bot/nlu/regional_words.yml)."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
import yaml
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.normalizer import (
    DEFAULT_LEXICON,
    DEFAULT_REGIONAL_LEXICON,
    REGIONAL_LANGUAGES,
    IndonesianNormalizer,
    LexiconError,
    get_normalizer,
    load_regional_lexicon,
)
from bot.nlu.normalizing_tokenizer import IndonesianNormalizingTokenizer
from bot.settings import RESOURCES_DIR


@pytest.fixture(scope="module")
def normalizer() -> IndonesianNormalizer:
    return get_normalizer()


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        # Javanese ngoko and krama
        ("pripun carane nglaporke money politik min",
         "bagaimana caranya laporkan money politik admin"),
        ("piye iki wis tak laporke kok durung ono kabar",
         "bagaimana ini sudah tak laporkan kok belum ada kabar"),
        ("pareng takon sampeyan saged bantu", "boleh tanya anda bisa bantu"),
        ("kulo badhe lapor wonten caleg bagi duwit",
         "saya mau lapor ada calon legislatif bagi uang"),
        ("matur nuwun sanget nggih", "terima kasih sangat ya"),
        ("sugeng enjing", "selamat pagi"),
        ("kenging menapa laporan kulo dereng diproses",
         "mengapa laporan saya belum diproses"),
        # Sundanese
        ("punten kumaha carana ngalaporkeun hoax",
         "permisi bagaimana caranya melaporkan hoaks"),
        ("abdi tos lapor tapi teu acan aya jawaban", "abdi sudah lapor tapi belum ada jawaban"),
        ("hatur nuhun kang", "terima kasih kang"),
        ("wilujeng wengi meunang naros", "selamat malam boleh tanya"),
        # Betawi
        ("aye mao laporin nyang bagi2 sembako", "saya mau laporkan yang bagi bagi sembako"),
        ("gimane ente laporan aye udeh belon", "bagaimana anda laporan saya sudah belum"),
    ],
)
def test_code_mixed_sentences_become_standard(
    normalizer: IndonesianNormalizer, typed: str, expected: str
) -> None:
    # Punctuation is left out: normalize_text splits on blanks only, while the
    # Rasa tokenizer strips it first (see the tokenizer test below).
    assert normalizer.normalize_text(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "aku", "oleh", "lain", "ra", "sing", "iku", "tak", "abdi", "mangga", "situ",
        "rek", "karo", "mau", "ten", "neng", "kulon", "kidul",
        # ordinary Indonesian that looks regional to no one
        "lapor", "laporan", "kapan", "siang", "bisa", "ada", "sudah", "tolong",
    ],
)
def test_excluded_and_standard_words_are_untouched(
    normalizer: IndonesianNormalizer, typed: str
) -> None:
    assert normalizer.normalize_word(typed) == [typed]


def test_excluded_words_in_context(normalizer: IndonesianNormalizer) -> None:
    assert normalizer.normalize_text("ditandatangani oleh pejabat lain") == (
        "ditandatangani oleh pejabat lain"
    )
    assert normalizer.normalize_text("mau ikut satgas, aku abdi negara") == (
        "mau ikut satgas, aku abdi negara"
    )


def test_regional_words_win_over_the_package_lexicon(normalizer: IndonesianNormalizer) -> None:
    # indoNLP reads "ono" as Betawi "sono" (there); in Javanese it is "ada".
    package_only = IndonesianNormalizer(use_package_lexicon=True)
    assert package_only.normalize_word("ono") == ["sono"]
    assert normalizer.normalize_word("ono") == ["ada"]


def test_the_project_lexicon_wins_over_regional_words(tmp_path: Path) -> None:
    project = tmp_path / "slang.yml"
    project.write_text("replace:\n  wis: sudah_proyek\nkeep:\n  - ora\n", encoding="utf-8")
    custom = IndonesianNormalizer.from_files(project, use_package_lexicon=False)
    assert custom.normalize_text("wis ora durung") == "sudah_proyek ora belum"
    without = IndonesianNormalizer.from_files(
        project, use_package_lexicon=False, regional_path=None
    )
    assert without.normalize_text("wis ora durung") == "sudah_proyek ora durung"


def test_phrases_share_their_words_out_and_absorb_the_rest(
    normalizer: IndonesianNormalizer,
) -> None:
    assert normalizer.normalize_words(["Matur", "Nuwun!!"]) == [["terima"], ["kasih"]]
    assert normalizer.normalize_words(["teu", "acan", "lapor"]) == [["belum"], [], ["lapor"]]
    assert normalizer.normalize_words(["kulo", "nuwun"]) == [["permisi"], []]
    # the same words outside the phrase are read one by one
    assert normalizer.normalize_words(["teu", "ngartos"]) == [["tidak"], ["mengerti"]]
    assert normalizer.normalize_words(["acan"]) == [["belum"]]
    assert normalizer.normalize_words(["kulo", "lapor"]) == [["saya"], ["lapor"]]
    # a phrase at the end, cut short, is not a phrase
    assert normalizer.normalize_words(["lapor", "matur"]) == [["lapor"], ["matur"]]


def test_ticket_code_after_a_phrase_keeps_its_lp_rule(normalizer: IndonesianNormalizer) -> None:
    assert normalizer.normalize_text("matur nuwun lp bag2in") == "terima kasih lp bag2in"


def test_tokenizer_drops_no_offsets_for_words_a_phrase_does_not_absorb() -> None:
    tokenizer = IndonesianNormalizingTokenizer(IndonesianNormalizingTokenizer.get_default_config())
    text = "Punten, teu acan aya kabar ttg LP-7K3QX9, hatur nuhun!"
    message = Message({TEXT: text})
    tokenizer.process([message])
    tokens = message.get("text_tokens")
    assert [t.text for t in tokens] == [
        "permisi", "belum", "ada", "kabar", "tentang", "LP-7K3QX9", "terima", "kasih",
    ]
    assert [text[t.start : t.end] for t in tokens] == [
        "Punten", "teu", "aya", "kabar", "ttg", "LP-7K3QX9", "hatur", "nuhun",
    ]
    assert message.get(TEXT) == text


def test_tokenizer_without_regional_words() -> None:
    config = {**IndonesianNormalizingTokenizer.get_default_config(), "regional_lexicon_path": False}
    message = Message({TEXT: "piye carane"})
    IndonesianNormalizingTokenizer(config).process([message])
    assert [t.text for t in message.get("text_tokens")] == ["piye", "carane"]


def test_lexicon_edits_change_the_tokenizer_fingerprint(tmp_path: Path) -> None:
    regional = tmp_path / "regional.yml"
    regional.write_text("javanese:\n  replace:\n    piye: bagaimana\n", encoding="utf-8")
    config = {"lexicon_path": str(DEFAULT_LEXICON), "regional_lexicon_path": str(regional)}
    before = IndonesianNormalizingTokenizer.fingerprint_addon(config)
    assert before == IndonesianNormalizingTokenizer.fingerprint_addon(config)
    regional.write_text("javanese:\n  replace:\n    piye: gimana\n", encoding="utf-8")
    assert IndonesianNormalizingTokenizer.fingerprint_addon(config) != before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("javanese:\n  replace:\n    oleh: boleh\nexclude:\n  - oleh\n", "excluded"),
        ("javanese:\n  replace:\n    iso: bisa\nbetawi:\n  replace:\n    iso: bias\n", "twice"),
        ("sundanese:\n  replace:\n    teu acan: belum\n", "one word"),
        ("sundanese:\n  phrases:\n    acan: belum\n", "two or more"),
        ("betawi:\n  replace:\n    - gimane\n", "map words"),
        ("- just a list\n", "mapping"),
    ],
)
def test_a_broken_regional_file_is_refused(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "regional.yml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LexiconError, match=message):
        load_regional_lexicon(path)


def test_the_bundled_file_is_consistent() -> None:
    replace, phrases = load_regional_lexicon(DEFAULT_REGIONAL_LEXICON)
    data = yaml.safe_load(DEFAULT_REGIONAL_LEXICON.read_text(encoding="utf-8"))
    assert set(data) == {*REGIONAL_LANGUAGES, "exclude"}
    assert all(data[language]["replace"] for language in REGIONAL_LANGUAGES)
    assert len(replace) > 150 and len(phrases) >= 8


def _region_words(*files: str) -> set[str]:
    words: set[str] = set()
    for name in files:
        with (RESOURCES_DIR / "wilayah" / name).open(encoding="utf-8") as handle:
            for row in csv.DictReader(handle):
                words.update(re.findall(r"[a-z]+", row["nama"].lower()))
    return words


def test_no_regional_word_is_part_of_a_province_or_kabupaten_name() -> None:
    # Kecamatan names do share a few everyday words ("wis", "soko", "tulung"):
    # those are common words there too (bot/resources/word_lists/regions.yml).
    replace, _ = load_regional_lexicon(DEFAULT_REGIONAL_LEXICON)
    assert set(replace) & _region_words("provinsi_kabkota.csv") == set()

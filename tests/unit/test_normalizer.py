"""Colloquial-Indonesian normalisation: word rules and the Rasa tokenizer using them."""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer
from rasa.shared.nlu.constants import INTENT, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.nlu.normalizer import IndonesianNormalizer, get_normalizer
from bot.nlu.normalizing_tokenizer import IndonesianNormalizingTokenizer


@pytest.fixture(scope="module")
def normalizer() -> IndonesianNormalizer:
    return get_normalizer()


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("gmn", "bagaimana"),  # project lexicon
        ("udh", "sudah"),
        ("bgt", "banget"),
        ("min", "admin"),
        ("yg", "yang"),  # indoNLP lexicon
        ("kmrn", "kemarin"),
        ("paslon", "pasangan calon"),  # one word -> two
        ("caleg", "calon legislatif"),
        ("bawslu", "bawaslu"),
        ("laporrr", "lapor"),  # elongation
        ("halooo", "halo"),
        ("maaaaf", "maaf"),
        ("kakk", "kak"),
        ("bagi2", "bagi bagi"),  # reduplication
        ("bagi-bagi", "bagi bagi"),
        ("kata2nya", "kata katanya"),
        ("GMN", "bagaimana"),
    ],
)
def test_colloquial_words_become_standard(
    normalizer: IndonesianNormalizer, typed: str, expected: str
) -> None:
    assert normalizer.normalize_text(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "https://vt.tiktok.com/ZS8abc2/",
        "bit.ly/3xYzAbc",
        "www.facebook.com/share/p/1AbCdE",
        "LP-7K3QX9",
        "lp7h3zn5",
        "12345",
        "20",
        "@akun_palsu2",
        "#pemilu2024",
        "warga@mail.id",
        "x",  # the platform, not indoNLP's "kali"
        "Bawaslu",  # standard word keeps its case
    ],
)
def test_links_codes_numbers_handles_and_kept_words_are_untouched(
    normalizer: IndonesianNormalizer, typed: str
) -> None:
    assert normalizer.normalize_word(typed) == [typed]


@pytest.mark.parametrize(
    ("typed", "expected"), [("🙏🙏🙏", "emoji"), ("😂", "emoji"), ("???", "tanda_baca")]
)
def test_symbol_only_words_become_one_class_word(
    normalizer: IndonesianNormalizer, typed: str, expected: str
) -> None:
    assert normalizer.normalize_word(typed) == [expected]


def test_ticket_code_after_separate_lp_is_untouched(normalizer: IndonesianNormalizer) -> None:
    assert normalizer.normalize_text("cek lp bag2in") == "cek lp bag2in"
    assert normalizer.normalize_text("cek bag2in") == "cek bag bagin"


def test_project_lexicon_overrides_the_package(tmp_path: Path) -> None:
    lexicon = tmp_path / "lexicon.yml"
    lexicon.write_text("replace:\n  yg: yang_proyek\nkeep:\n  - gmn\n", encoding="utf-8")
    custom = IndonesianNormalizer.from_files(lexicon)
    assert custom.normalize_text("yg gmn udh") == "yang_proyek gmn sudah"
    no_package = IndonesianNormalizer.from_files(lexicon, use_package_lexicon=False)
    assert no_package.normalize_text("yg udh") == "yang_proyek udh"


def _tokenizer(**config: object) -> IndonesianNormalizingTokenizer:
    return IndonesianNormalizingTokenizer(
        {**IndonesianNormalizingTokenizer.get_default_config(), **config}
    )


def test_tokens_carry_normalised_text_with_original_offsets() -> None:
    text = "laporrr min paslon bagi2 duit https://vt.tiktok.com/ZS8abc/ LP-7K3QX9"
    message = Message({TEXT: text})
    _tokenizer().process([message])
    tokens = message.get("text_tokens")
    assert [t.text for t in tokens] == [
        "lapor", "admin", "pasangan", "calon", "bagi", "bagi", "duit",
        "https://vt.tiktok.com/ZS8abc/", "LP-7K3QX9",
    ]
    assert message.get(TEXT) == text  # the text itself is never rewritten
    spans = [text[t.start : t.end] for t in tokens]
    assert spans == [
        "laporrr", "min", "paslon", "paslon", "bagi2", "bagi2", "duit",
        "https://vt.tiktok.com/ZS8abc/", "LP-7K3QX9",
    ]
    assert [t.lemma for t in tokens][:2] == ["lapor", "admin"]


def test_offsets_match_the_plain_whitespace_tokenizer() -> None:
    text = "Halo kak, ada caleg2 yg nyebar hoax di fb @akun_x kmrn!!"
    plain = Message({TEXT: text})
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process([plain])
    normalised = Message({TEXT: text})
    _tokenizer().process([normalised])
    plain_spans = [(t.start, t.end) for t in plain.get("text_tokens")]
    spans = sorted({(t.start, t.end) for t in normalised.get("text_tokens")})
    assert spans == plain_spans


def test_emoji_only_message_gets_the_class_token() -> None:
    message = Message({TEXT: "🔥🔥"})
    _tokenizer().process([message])
    [token] = message.get("text_tokens")
    assert (token.text, token.start, token.end) == ("emoji", 0, 2)


def test_training_data_intents_are_not_normalised() -> None:
    message = Message({TEXT: "gmn lapor", INTENT: "faq"})
    _tokenizer().process_training_data(TrainingData([message]))
    assert [t.text for t in message.get("text_tokens")] == ["bagaimana", "lapor"]
    assert [t.text for t in message.get("intent_tokens")] == ["faq"]


def test_missing_lexicon_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        _tokenizer(lexicon_path=str(tmp_path / "missing.yml"))

"""What a screenshot's text says: links (wrapped, split, without a scheme), handles,
platform from interface words, the post text; and the matching helpers."""

from __future__ import annotations

import io
import random

import pytest
from PIL import Image

from bot.ocr.fingerprint import (
    hash_distance,
    perceptual_hash,
    same_picture,
    same_screenshot,
    same_text,
    text_likeness,
)
from bot.ocr.screen_text import (
    MAX_POST_TEXT,
    ScreenReading,
    ScreenWords,
    find_platform,
    join_wrapped_links,
    read_passes,
    read_screen,
    repair_link,
)
from bot.word_lists import WordListError
from tests.screenshot_corpus import build_corpus, spoil

TIKTOK = """vt.tiktok.com/ZSabc123

@akunpalsu Mengikuti
2 jam

Jangan pilih calon itu, dia antek asing dan
musuh agama kita!

336,5 rb Suka 864 Komentar 14 rb Bagikan
43,5 rb tayangan - Balas
"""


def test_a_tiktok_screenshot_gives_link_handle_platform_and_post() -> None:
    reading = read_screen(TIKTOK)
    assert reading.links == ("vt.tiktok.com/ZSabc123",)
    assert reading.handles == ("@akunpalsu",)
    assert reading.platform == "tiktok"
    assert reading.post_text == ("Jangan pilih calon itu, dia antek asing dan "
                                 "musuh agama kita!")


@pytest.mark.parametrize(("lines", "joined"), [
    (["tiktok.com/@relawan_biru/video/1916419", "590086274249"],
     "tiktok.com/@relawan_biru/video/1916419590086274249"),
    (["fb.watch/KQ", "", "0MocOksY"], "fb.watch/KQ0MocOksY"),  # across one blank line
    (["lihat x.com/warga/status/", "12345"], "lihat x.com/warga/status/12345"),
    (["x.com/info. pemilu24/status/22 3000924994862 334"],
     "x.com/info.pemilu24/status/223000924994862334"),
])
def test_links_wrapped_or_split_by_the_reader_are_joined(lines: list[str],
                                                         joined: str) -> None:
    assert joined in join_wrapped_links(lines)


@pytest.mark.parametrize("lines", [
    ["cek bit.ly/abc123", "Sekarang"],  # a word on the next line is not the link's
    ["instagram.com/p/rixE9LpLD6u", "", "@gerakan_muda01"],  # a handle is not either
    ["tiktok.com/@a/video/1", "", "", "2024"],  # not across two blank lines
])
def test_a_next_line_that_is_not_part_of_the_link_stays_apart(lines: list[str]) -> None:
    assert join_wrapped_links(lines) == [line for line in lines if line]


def test_handles_repaired_and_not_taken_from_emails_or_links() -> None:
    reading = read_screen("@warga _kritis Ikuti\n@gerakan_muda0l\nhubungi a@b.com\n"
                          "tiktok.com/@dari_link/video/1\n@pantau.kampanye_\n")
    assert reading.handles == ("@warga_kritis", "@gerakan_muda01", "@pantau.kampanye",
                               "@dari_link")


def test_handles_come_from_the_links_of_each_platform() -> None:
    reading = read_screen("x.com/jejak_caleg/status/123\ninstagram.com/p/Abc123\n"
                          "vt.tiktok.com/ZSabc123")
    assert reading.handles == ("@jejak_caleg",)


def test_reader_slips_inside_links_are_repaired() -> None:
    assert repair_link("instagram.com/p/KoQt]pgYzA") == "instagram.com/p/KoQtJpgYzA"
    assert repair_link("tiktok.com/@a/vide0/69O0944l2") == "tiktok.com/@a/video/690094412"
    assert repair_link("x.com/a/status/1O2l3") == "x.com/a/status/10213"


@pytest.mark.parametrize(("text", "platform"), [
    ("@a Ikuti\nDisukai oleh budi dan lainnya\nLihat semua komentar", "instagram"),
    ("@a\n120 Posting\n3 rb Tayangan\nRepost", "x"),
    ("Halaman Publik\n12 Komentari\n3 Bagikan", "facebook"),
    ("Suka\nBalas", None),  # shared by every platform: not enough
    ("fb.watch/abc123\nMengikuti\nUntuk Anda", "facebook"),  # the link wins
    ("tidak ada apa-apa di sini", None),
])
def test_platform_from_the_link_or_the_interface_words(text: str,
                                                       platform: str | None) -> None:
    assert read_screen(text).platform == platform


def test_post_text_leaves_out_counts_times_and_buttons() -> None:
    reading = read_screen("@a Mengikuti\n3 hari\n12,3 rb Suka 45 Komentar 6 rb Bagikan\n"
                          "Kotak suara di TPS 12 sudah dicoblos duluan\nBalas")
    assert reading.post_text == "Kotak suara di TPS 12 sudah dicoblos duluan"
    assert len(read_screen("kata panjang sekali " * 500).post_text) <= MAX_POST_TEXT


def test_passes_vote_and_a_cut_handle_gives_way_to_the_whole_one() -> None:
    reading = read_passes(["@kabar\nx.com/kabar_jateng/status/1", "@kabar_jateng\n"
                           "x.com/kabar_jateng/status/1\nx.com/kabar_jateng/status/7"])
    assert reading.links == ("x.com/kabar_jateng/status/1", "x.com/kabar_jateng/status/7")
    assert reading.handles[0] == "@kabar_jateng" and "@kabar" not in reading.handles


def test_the_slot_form_round_trips_and_refuses_junk() -> None:
    reading = read_screen(TIKTOK)
    again = ScreenReading.from_slot(reading.to_slot())
    assert again is not None and again.links == reading.links
    assert again.handles == reading.handles and again.post_text == reading.post_text
    assert ScreenReading.from_slot("x") is None
    assert ScreenReading.from_slot({"links": "not a list"}) is None


def test_hostile_text_stays_bounded() -> None:
    reading = read_screen(("@" + "a" * 5000 + " ") * 300 + "x.com/" + "/" * 100_000)
    assert len(reading.handles) <= 5 and len(reading.text) < 70_000


def test_the_word_list_is_checked() -> None:
    with pytest.raises(WordListError):
        ScreenWords.from_data({"min_hits": 0, "platforms": {"x": ["posting"]},
                               "count_words": ["rb"], "time_words": ["jam"]})
    with pytest.raises(WordListError):
        ScreenWords.from_data({"min_hits": 2, "platforms": [],
                               "count_words": ["rb"], "time_words": ["jam"]})
    assert find_platform([], ["https://www.tiktok.com/@a/video/1"]) == "tiktok"


def test_the_same_picture_forwarded_is_recognised_and_other_posts_are_not() -> None:
    corpus = build_corpus(per_platform=3)
    hashes = [perceptual_hash(sample.data, 10**8) for sample in corpus]
    for index, sample in enumerate(corpus):
        image = Image.open(io.BytesIO(sample.data)).convert("RGB").resize((720, 1280))
        copy = perceptual_hash(spoil(image, random.Random(index)), 10**8)
        assert same_picture(hashes[index], copy)
        others = [h for i, h in enumerate(hashes) if i != index]
        assert not any(same_picture(copy, other) for other in others)
    assert hash_distance("ab", "cd") is None and hash_distance("z" * 256, "0" * 256) is None
    assert perceptual_hash(b"junk", 10**8) is None


def test_texts_of_the_same_post_are_alike_and_chrome_alone_is_not() -> None:
    one = "@akunpalsu Mengikuti Jangan pilih calon itu, dia antek asing dan musuh agama kita!"
    two = "@akunpalsu 3 hari Jangan pilih calon itu dia antek asing dan musuh agama kita Balas"
    other = "@lain Mengikuti Bagi-bagi sembako gratis dari tim pemenangan besok pagi"
    assert same_text(one, two) and not same_text(one, other)
    assert text_likeness("Suka Balas", "Suka Balas") == 0.0  # too few words to tell
    # The same picture with texts that disagree is not the same screenshot.
    assert same_screenshot("0" * 256, "0" * 256, one, two)
    assert not same_screenshot("0" * 256, "0" * 256, one, other)
    assert same_screenshot("0" * 256, "0" * 256, None, other)

"""Region data loading, tolerant matching of typed place names, and follow-up choices."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.regions import (
    Region,
    RegionMatch,
    format_choices,
    get_region,
    load_regions,
    match_region,
    regions_in_province,
    resolve_choice,
)

DKI = "Daerah Khusus Ibukota Jakarta"
DIY = "Daerah Istimewa Yogyakarta"
PEKALONGAN = ["Kota Pekalongan", "Kabupaten Pekalongan"]
BANDUNG = ["Kota Bandung", "Kabupaten Bandung", "Kabupaten Bandung Barat"]
SEMARANG = ["Kota Semarang", "Kabupaten Semarang"]
JAKARTA_KOTA = [
    "Kota Administrasi Jakarta Pusat",
    "Kota Administrasi Jakarta Utara",
    "Kota Administrasi Jakarta Barat",
    "Kota Administrasi Jakarta Selatan",
    "Kota Administrasi Jakarta Timur",
]


def names(match: RegionMatch) -> list[str]:
    return [region.name for region in match.candidates]


# --- loading -----------------------------------------------------------------


def test_loader_counts() -> None:
    table = load_regions()
    assert len(table.provinces) == 38
    assert len(table.kabkota) == 514
    assert len(table.kecamatan) == 7285
    assert load_regions() is table  # cached: read once


def test_region_fields_and_names() -> None:
    region = get_region("33.75")
    assert region == Region("33.75", "Kota Pekalongan", "kota", "33", "Jawa Tengah")
    assert region.short_name == "Pekalongan"
    assert region.display_name == "Kota Pekalongan (Jawa Tengah)"
    assert region.to_choice() == {
        "code": "33.75",
        "name": "Kota Pekalongan (Jawa Tengah)",
        "short_name": "Kota Pekalongan",
        "level": "kota",
        "province": "Jawa Tengah",
    }
    province = get_region("31")
    assert province is not None and province.level == "provinsi"
    assert province.display_name == "Provinsi DKI Jakarta"
    assert get_region("99.99") is None


def test_names_are_stripped_and_levels_known() -> None:
    table = load_regions()
    assert table.get("31.72").name == "Kota Administrasi Jakarta Utara"  # trailing space in CSV
    assert {r.level for r in table.regions} == {"provinsi", "kabupaten", "kota"}
    assert len({r.name for r in table.regions}) == len(table.regions)


def test_jakarta_has_five_kota_and_kepulauan_seribu() -> None:
    inside = regions_in_province("31")
    assert [r.name for r in inside] == ["Kabupaten Administrasi Kepulauan Seribu", *JAKARTA_KOTA]
    assert match_region("jakarta").region.code == "31"


# --- match_region: one table of what citizens type ------------------------------

REGION_CASES: list[tuple[str, str, list[str]]] = [
    # Exact names, any case and punctuation.
    ("kota pekalongan", "exact", ["Kota Pekalongan"]),
    ("KOTA PEKALONGAN", "exact", ["Kota Pekalongan"]),
    ("kab. pekalongan", "exact", ["Kabupaten Pekalongan"]),
    ("Kab Pekalongan", "exact", ["Kabupaten Pekalongan"]),
    ("kab.pekalongan", "exact", ["Kabupaten Pekalongan"]),
    ("kabupaten pekalongan", "exact", ["Kabupaten Pekalongan"]),
    ("pekalongan kota", "exact", ["Kota Pekalongan"]),
    ("kejadiannya di kota pekalongan kemarin", "exact", ["Kota Pekalongan"]),
    ("jawa tengah", "exact", ["Jawa Tengah"]),
    ("provinsi jawa tengah", "exact", ["Jawa Tengah"]),
    ("prov. jawa timur", "exact", ["Jawa Timur"]),
    ("sumatra utara", "exact", ["Sumatera Utara"]),
    ("Kota Administrasi Jakarta Selatan", "exact", ["Kota Administrasi Jakarta Selatan"]),
    ("jakarta selatan", "exact", ["Kota Administrasi Jakarta Selatan"]),
    ("kepulauan seribu", "exact", ["Kabupaten Administrasi Kepulauan Seribu"]),
    ("surabaya", "exact", ["Kota Surabaya"]),
    ("toli-toli", "exact", ["Kabupaten Toli-Toli"]),
    ("tolitoli", "exact", ["Kabupaten Toli-Toli"]),
    ("gunung kidul", "exact", ["Kabupaten Gunungkidul"]),
    ("bandarlampung", "exact", ["Kota Bandar Lampung"]),
    ("kab. kep. siau tagulandang biaro", "exact", ["Kabupaten Kep. Siau Tagulandang Biaro"]),
    ("bandung barat", "exact", ["Kabupaten Bandung Barat"]),
    ("kab bandung", "exact", ["Kabupaten Bandung"]),
    ("kota pekalongan, jawa tengah", "exact", ["Kota Pekalongan"]),
    ("Kota Pekalongan (Jawa Tengah)", "exact", ["Kota Pekalongan"]),
    ("banjar, kalsel", "exact", ["Kabupaten Banjar"]),
    ("kota jogja", "exact", ["Kota Yogyakarta"]),
    ("papua", "exact", ["Papua"]),
    ("papua barat", "exact", ["Papua Barat"]),
    ("papua barat daya", "exact", ["Papua Barat Daya"]),
    ("papua selatan", "exact", ["Papua Selatan"]),
    ("papua tengah", "exact", ["Papua Tengah"]),
    ("papua pegunungan", "exact", ["Papua Pegunungan"]),
    ("https://www.tiktok.com/@info_bandung/video/1 di kota malang", "exact", ["Kota Malang"]),
    # Place names that are also ordinary words need a clear signal.
    ("kota batu", "exact", ["Kota Batu"]),
    ("batu", "exact", ["Kota Batu"]),
    ("di padang", "exact", ["Kota Padang"]),
    ("saya lihat di medan", "exact", ["Kota Medan"]),
    # Abbreviations and common forms.
    ("jkt", "exact", [DKI]),
    ("di jkt", "exact", [DKI]),
    ("jakarta", "exact", [DKI]),
    ("dki", "exact", [DKI]),
    ("jabar", "exact", ["Jawa Barat"]),
    ("jateng", "exact", ["Jawa Tengah"]),
    ("jatim", "exact", ["Jawa Timur"]),
    ("sumut", "exact", ["Sumatera Utara"]),
    ("sumbar", "exact", ["Sumatera Barat"]),
    ("sumsel", "exact", ["Sumatera Selatan"]),
    ("kaltim", "exact", ["Kalimantan Timur"]),
    ("kalbar", "exact", ["Kalimantan Barat"]),
    ("kalsel", "exact", ["Kalimantan Selatan"]),
    ("kalteng", "exact", ["Kalimantan Tengah"]),
    ("kaltara", "exact", ["Kalimantan Utara"]),
    ("sulsel", "exact", ["Sulawesi Selatan"]),
    ("sulut", "exact", ["Sulawesi Utara"]),
    ("sulteng", "exact", ["Sulawesi Tengah"]),
    ("sultra", "exact", ["Sulawesi Tenggara"]),
    ("sulbar", "exact", ["Sulawesi Barat"]),
    ("ntb", "exact", ["Nusa Tenggara Barat"]),
    ("NTT", "exact", ["Nusa Tenggara Timur"]),
    ("diy", "exact", [DIY]),
    ("jogja", "exact", [DIY]),
    ("yogya", "exact", [DIY]),
    ("babel", "exact", ["Kepulauan Bangka Belitung"]),
    ("kepri", "exact", ["Kepulauan Riau"]),
    ("sby", "exact", ["Kota Surabaya"]),
    ("mks", "exact", ["Kota Makassar"]),
    ("makasar", "exact", ["Kota Makassar"]),
    ("jaksel", "exact", ["Kota Administrasi Jakarta Selatan"]),
    ("jakbar", "exact", ["Kota Administrasi Jakarta Barat"]),
    ("jakpus", "exact", ["Kota Administrasi Jakarta Pusat"]),
    ("jaktim", "exact", ["Kota Administrasi Jakarta Timur"]),
    ("jakut", "exact", ["Kota Administrasi Jakarta Utara"]),
    ("solo", "exact", ["Kota Surakarta"]),
    ("tangsel", "exact", ["Kota Tangerang Selatan"]),
    ("sitaro", "exact", ["Kabupaten Kep. Siau Tagulandang Biaro"]),
    ("lombok", "ambiguous", ["Kota Mataram", "Kabupaten Lombok Barat", "Kabupaten Lombok Tengah",
                             "Kabupaten Lombok Timur", "Kabupaten Lombok Utara"]),
    # Ambiguous names: the assistant asks which one.
    ("pekalongan", "ambiguous", PEKALONGAN),
    ("di pekalongan", "ambiguous", PEKALONGAN),
    ("kota atau kabupaten pekalongan", "ambiguous", PEKALONGAN),
    ("bandung", "ambiguous", BANDUNG),
    ("bdg", "ambiguous", BANDUNG),
    ("kab/kota bandung", "ambiguous", BANDUNG),
    ("smg", "ambiguous", SEMARANG),
    ("semarang", "ambiguous", SEMARANG),
    ("bogor", "ambiguous", ["Kota Bogor", "Kabupaten Bogor"]),
    ("jambi", "ambiguous", ["Jambi", "Kota Jambi"]),
    ("yogyakarta", "ambiguous", [DIY, "Kota Yogyakarta"]),
    ("gorontalo", "ambiguous", ["Gorontalo", "Kota Gorontalo", "Kabupaten Gorontalo"]),
    ("kota jakarta", "ambiguous", JAKARTA_KOTA),
    # Typos.
    ("pekalogan", "ambiguous", PEKALONGAN),
    ("kota pekalogan", "exact", ["Kota Pekalongan"]),
    ("surbaya", "exact", ["Kota Surabaya"]),
    ("aku di surbaya", "exact", ["Kota Surabaya"]),
    ("bandunk", "ambiguous", BANDUNG),
    ("kabupaten banyumass", "exact", ["Kabupaten Banyumas"]),
    ("bandarlampug", "exact", ["Kota Bandar Lampung"]),
    # No particular region: an allowed answer.
    ("nasional", "national", []),
    ("Nasional.", "national", []),
    ("seluruh indonesia", "national", []),
    ("se-indonesia", "national", []),
    ("tidak tahu", "national", []),
    ("gak tau", "national", []),
    ("ga tahu", "national", []),
    ("gatau kak", "national", []),
    ("online aja", "national", []),
    ("tidak ada daerahnya", "national", []),
    ("cuma di medsos", "national", []),
    ("dari sabang sampai merauke", "national", []),
    ("di mana-mana", "national", []),
    # Nothing plausible.
    ("", "none", []),
    ("   ", "none", []),
    ("https://www.tiktok.com/@surabaya_info/video/123", "none", []),
    ("jawa", "none", []),
    ("di y", "none", []),
    ("cek detik.com/jateng", "none", []),
    # "nasional"/"tidak tahu" inside an account of events is not an answer.
    ("ini soal pemilu nasional", "none", []),
    ("saya tidak tahu siapa yang buat", "none", []),
]


@pytest.mark.parametrize(("text", "kind", "expected"), REGION_CASES)
def test_match_region(text: str, kind: str, expected: list[str]) -> None:
    match = match_region(text)
    assert match.kind == kind, (text, match)
    assert names(match) == expected
    if kind == "exact":
        assert match.region is not None and match.region.name == expected[0]
    else:
        assert match.region is None


@pytest.mark.parametrize("text", ["pekalogan", "surbaya", "bandunk", "kota pekalogan"])
def test_typo_matches_are_flagged_fuzzy(text: str) -> None:
    match = match_region(text)
    assert match.fuzzy
    assert match.kind != "exact" or match.needs_confirmation


def test_exact_match_reports_matched_text() -> None:
    match = match_region("kejadiannya di Kab. Pekalongan kemarin")
    assert match.matched_text == "kab pekalongan"
    assert not match.fuzzy and not match.needs_confirmation


# --- false positives: ordinary messages name no region ------------------------

ORDINARY_SENTENCES = [
    "saya mau lapor hoaks",
    "ada video di tiktok",
    "kemarin sore",
    "tolong dibantu ya min",
    "selamat pagi admin",
    "halo kak, saya mau tanya",
    "ini link videonya",
    "akun ini sering sebar berita bohong",
    "ada yang bagi-bagi amplop pas kampanye",
    "pak kades ikut kampanye pakai seragam",
    "postingan itu menghina suku tertentu",
    "videonya sudah ditonton ribuan orang",
    "apakah laporan saya sudah diproses",
    "terima kasih banyak ya",
    "oke siap, saya kirim sekarang",
    "fotonya editan, itu bukan kejadian asli",
    "ada serangan fajar di desa kami",
    "kontennya fitnah kalau kpu sudah atur hasil",
    "calon nomor dua dituduh curang",
    "saya lihat di grup whatsapp keluarga",
    "gimana cara cek status laporan",
    "tadi malam ada siaran langsung di facebook",
    "isinya ajakan untuk tidak memilih",
    "ini akun buzzer yang dibayar",
    "kenapa laporan saya belum dibalas",
    "mohon ditindaklanjuti secepatnya",
    "saya tidak mau nama saya disebut",
    "hapus data saya dong",
    "batal aja deh",
    "iya benar",
    "bukan, yang satunya lagi",
    "komentarnya penuh ujaran kebencian",
    "ada stiker calon di bungkus sembako",
    "mereka pakai mobil dinas buat kampanye",
    "beritanya sudah viral di twitter",
    "video lama diedit seolah-olah baru",
    "banyak yang percaya sama hoaks itu",
    "kampanye di masa tenang",
    "ada asn yang posting dukungan",
    "kepala sekolah menyuruh murid memilih",
    "saya takut dilaporkan balik",
    "bisa minta nomor pengaduan",
    "apa itu politik uang",
    "kapan batas waktu melapor",
    "saya masih bingung caranya",
    "nanti saya kirim tangkapan layarnya",
    "lagi rame banget di medsos",
    "akunnya sudah dihapus sama pemiliknya",
    "sudah saya laporkan ke platformnya juga",
    "selamat malam, maaf mengganggu",
    "nasi padang enak sekali",
    "lempar batu sembunyi tangan",
    "buru buru banget",
    "tanah datar dan sungai penuh sampah",
    "ada pertunjukan solo gitar",
    "seribu orang ikut kampanye",
    "medan perang di medsos",
    "nasib malang sekali",
    "lima puluh ribu per orang",
    "dikasih uang tujuh belas ribu",
    "saya lihat di kota",
    "di pasar dekat rumah",
    "di pesantren",
]


@pytest.mark.parametrize("text", ORDINARY_SENTENCES)
def test_ordinary_sentences_name_no_region(text: str) -> None:
    match = match_region(text)
    assert match.kind == "none", (text, match)


# Single words people send as replies that sit one letter away from a place
# name ("sekarang"/"semarang") or are also kecamatan names ("bareng", "kamu").
@pytest.mark.parametrize(
    "text",
    ["sekarang", "kurang", "selama", "langkah", "lembaga", "pasang", "sering", "banjir",
     "bangsa", "bareng", "kamu", "ibu", "selesai", "kasihan", "tujuh belas", "lanjut", "oke"],
)
def test_ordinary_single_words_name_no_region(text: str) -> None:
    assert match_region(text).kind == "none"


def test_region_count_ordinary_sentences() -> None:
    assert len(ORDINARY_SENTENCES) >= 50


# --- kecamatan hints -----------------------------------------------------------

KECAMATAN_CASES: list[tuple[str, str, list[str], str | None]] = [
    ("kec menteng", "exact", ["Kota Administrasi Jakarta Pusat"], "Menteng"),
    ("kecamatan menteng", "exact", ["Kota Administrasi Jakarta Pusat"], "Menteng"),
    ("di menteng", "exact", ["Kota Administrasi Jakarta Pusat"], "Menteng"),
    ("di menteng, jakarta", "exact", ["Kota Administrasi Jakarta Pusat"], "Menteng"),
    ("kec. coblong", "exact", ["Kota Bandung"], "Coblong"),
    ("kec.coblong", "exact", ["Kota Bandung"], "Coblong"),
    ("kejadiannya di kebayoran baru", "exact", ["Kota Administrasi Jakarta Selatan"],
     "Kebayoran Baru"),
    ("di tanah abang", "ambiguous",
     ["Kabupaten Penukal Abab Lematang Ilir", "Kota Administrasi Jakarta Pusat"], "Tanah Abang"),
    # A single-word kecamatan needs "kec"/"di": on its own it may be a word.
    ("menteng", "none", [], None),
    # Kabupaten/kota names win over kecamatan names.
    ("di kota pekalongan", "exact", ["Kota Pekalongan"], None),
]


@pytest.mark.parametrize(("text", "kind", "expected", "kecamatan"), KECAMATAN_CASES)
def test_kecamatan_hints(text: str, kind: str, expected: list[str], kecamatan: str | None) -> None:
    match = match_region(text)
    assert match.kind == kind, (text, match)
    assert names(match) == expected
    assert match.via_kecamatan == kecamatan
    if kind == "exact" and kecamatan:
        assert match.needs_confirmation


# --- resolve_choice ------------------------------------------------------------

CHOICE_CASES: list[tuple[str, str, str | None]] = [
    ("pekalongan", "kota", "Kota Pekalongan"),
    ("pekalongan", "Kota", "Kota Pekalongan"),
    ("pekalongan", "kabupatennya", "Kabupaten Pekalongan"),
    ("pekalongan", "yang kab", "Kabupaten Pekalongan"),
    ("pekalongan", "kab.", "Kabupaten Pekalongan"),
    ("pekalongan", "yg kota aja", "Kota Pekalongan"),
    ("pekalongan", "bukan kota", "Kabupaten Pekalongan"),
    ("pekalongan", "1", "Kota Pekalongan"),
    ("pekalongan", "2", "Kabupaten Pekalongan"),
    ("pekalongan", "nomor 2", "Kabupaten Pekalongan"),
    ("pekalongan", "yang pertama", "Kota Pekalongan"),
    ("pekalongan", "Kabupaten Pekalongan (Jawa Tengah)", "Kabupaten Pekalongan"),
    ("pekalongan", "3", None),
    ("pekalongan", "pekalongan", None),
    ("pekalongan", "kota atau kabupaten ya", None),
    ("pekalongan", "entahlah", None),
    ("bandung", "kabupaten", "Kabupaten Bandung"),
    ("bandung", "yang barat", "Kabupaten Bandung Barat"),
    ("bandung", "kab bandung barat", "Kabupaten Bandung Barat"),
    ("kota jakarta", "selatan", "Kota Administrasi Jakarta Selatan"),
    ("kota jakarta", "jaktim", "Kota Administrasi Jakarta Timur"),
    ("jambi", "provinsi", "Jambi"),
    ("jambi", "kotanya", "Kota Jambi"),
    ("gorontalo", "gorontalo", None),
    ("banjar", "yang di jabar", "Kota Banjar"),
    ("banjar", "kalimantan selatan", "Kabupaten Banjar"),
]


@pytest.mark.parametrize(("question", "answer", "expected"), CHOICE_CASES)
def test_resolve_choice_with_slot_dicts(question: str, answer: str, expected: str | None) -> None:
    candidates = [region.to_choice() for region in match_region(question).candidates]
    chosen = resolve_choice(candidates, answer)
    if expected is None:
        assert chosen is None
    else:
        assert chosen is not None
        assert chosen["short_name"] == expected or chosen["name"] == f"Provinsi {expected}"
        assert chosen in candidates


def test_resolve_choice_returns_the_same_element_type() -> None:
    regions = list(match_region("pekalongan").candidates)
    assert resolve_choice(regions, "kota") is regions[0]
    codes = [region.code for region in regions]
    assert resolve_choice(codes, "kabupaten") == "33.26"
    assert resolve_choice([], "kota") is None
    assert resolve_choice([{"code": "unknown", "name": "x"}], "kota") is None


def test_format_choices_is_numbered() -> None:
    text = format_choices(match_region("pekalongan").candidates)
    assert text == "1. Kota Pekalongan (Jawa Tengah)\n2. Kabupaten Pekalongan (Jawa Tengah)"


# --- robustness ----------------------------------------------------------------


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_match_region_never_raises(text: str) -> None:
    match = match_region(text)
    assert match.kind in ("exact", "ambiguous", "national", "none")
    assert (match.kind == "exact") == (match.region is not None)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["kota", "kab", "di", "pekalongan", "bandung", "jakarta", "selatan", "tidak", "tahu",
             "1", "2", "yang", "bukan", "provinsi", "jambi", ",", "kec", "menteng", "surbaya"]
        ),
        max_size=8,
    ).map(" ".join)
)
def test_match_and_choice_never_raise_on_region_words(text: str) -> None:
    match = match_region(text)
    resolve_choice([r.to_choice() for r in match_region("bandung").candidates], text)
    assert match.kind in ("exact", "ambiguous", "national", "none")

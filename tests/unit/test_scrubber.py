"""The trainers' scrubber on a corpus of Indonesian personal-data forms, and on the
numbers and handles that must survive it."""

from __future__ import annotations

import pytest

from bot.trainers.scrubber import (
    CARD,
    EMAIL,
    HANDLE,
    NAME,
    NIK,
    PHONE,
    find_personal_data,
    luhn_valid,
    plausible_nik,
    scrub,
)

# (typed text, scrubbed text)
POSITIVES = [
    # mobile numbers, every way people write them
    ("hubungi saya di 081234567890", f"hubungi saya di {PHONE}"),
    ("wa saya 0812 3456 7890 ya", f"wa saya {PHONE} ya"),
    ("no hp 0812-3456-7890", f"no hp {PHONE}"),
    ("nomor 0812.3456.7890", f"nomor {PHONE}"),
    ("telp +62 812-3456-7890.", f"telp {PHONE}."),
    ("telp +62812 3456 7890", f"telp {PHONE}"),
    ("telp +6281234567890", f"telp {PHONE}"),
    ("(+62) 812 3456 7890 nomor sy", f"{PHONE} nomor sy"),
    ("62812345678901 itu wa saya", f"{PHONE} itu wa saya"),
    ("085712345678", PHONE),
    ("0857 1234 567", PHONE),
    ("hp:0896-1234-5678,", f"hp:{PHONE},"),
    ("chat aja wa.me/6281234567890 ya", f"chat aja wa.me/{PHONE} ya"),
    ("https://api.whatsapp.com/send?phone=6281234567890&text=halo",
     f"https://api.whatsapp.com/send?phone={PHONE}&text=halo"),
    # landlines
    ("kantor (021) 555 1234", f"kantor {PHONE}"),
    ("telp 021-5551234", f"telp {PHONE}"),
    ("telp 021 5551 2345", f"telp {PHONE}"),
    ("(0274) 512345 rumah", f"{PHONE} rumah"),
    ("0274-512345", PHONE),
    ("+62 21 5551234", PHONE),
    ("(0911) 312345", PHONE),
    # e-mail
    ("email saya budi.santoso99@gmail.com ya", f"email saya {EMAIL} ya"),
    ("kirim ke BUDI_s+lapor@yahoo.co.id.", f"kirim ke {EMAIL}."),
    ("surel: siti@desa-maju.go.id", f"surel: {EMAIL}"),
    # NIK
    ("nik saya 3374012502900003", f"nik saya {NIK}"),
    ("NIK: 3201156508850001 (perempuan)", f"NIK: {NIK} (perempuan)"),
    ("ktp 3374 0125 0290 0003", f"ktp {NIK}"),
    # cards (Luhn)
    ("kartu 4111 1111 1111 1111 kena tipu", f"kartu {CARD} kena tipu"),
    ("cc 5500-0000-0000-0004", f"cc {CARD}"),
    ("4111111111111111", CARD),
    # handles other than the reported one
    ("hubungi saya di @budi_99 ya", f"hubungi saya di {HANDLE} ya"),
    ("cc @temanku", f"cc {HANDLE}"),
    ("akun @penyebar_hoaks, info dari @sepupu_saya",
     f"akun @penyebar_hoaks, info dari {HANDLE}"),
    # names
    ("nama saya Budi Santoso mau lapor", f"nama saya {NAME} mau lapor"),
    ("nama saya budi santoso, dari semarang", f"nama saya {NAME}, dari semarang"),
    ("saya bernama Siti Nurhaliza asal Medan", f"saya bernama {NAME} asal Medan"),
    ("halo min, namaku rina. mau tanya", f"halo min, namaku {NAME}. mau tanya"),
    ("nama aku andi dari bogor", f"nama aku {NAME} dari bogor"),
    ("nama sy: Joko", f"nama sy: {NAME}"),
    ("Nama saya Budi, NIK 3374012502900003, hp 081234567890",
     f"Nama saya {NAME}, NIK {NIK}, hp {PHONE}"),
]

# Texts that must come out unchanged.
NEGATIVES = [
    "cek status LP-7K3QX9",
    "laporan lp7k3qx9 gimana",
    "kejadiannya tanggal 14-02-2024 jam 08.30",
    "tgl 14/02/2024",
    "05-02-2024 08.30 di tps 012",
    "masa tenang 11.02.2024 sampai 13.02.2024",
    "kode wilayah 33.75 kota pekalongan",
    "kode 3375 atau 32.73.01.1001",
    "dikasih Rp 50.000 sama timses",
    "dikasih Rp50.000.000 buat satu rt",
    "amplop isi rp 100.000 dan rp.200.000",
    "pasal 280 ayat (1) huruf j UU 7/2017",
    "https://www.tiktok.com/@akun_palsu/video/7301234567890123456",
    "https://vt.tiktok.com/ZS8abc/ nyebar hoaks",
    "instagram.com/p/C1234567890 tuh",
    "akun @penyebar_hoaks nyebar fitnah",
    "akun tiktok @si_kompor nyebar hoaks",
    "channel yt @berita_palsu",
    "pemilu 2024 tahun depan 2029",
    "caleg nomor urut 3 dapil 2",
    "suara 125000 di kecamatan",
    "rt 005 rw 002 kelurahan tegalsari",
    "jam 19.00 - 21.00 wib",
    "nama saya mau lapor",
    "kak nama saya tidak usah dicantumkan",
    "",
]


@pytest.mark.parametrize(("text", "expected"), POSITIVES)
def test_scrubs_personal_data(text: str, expected: str) -> None:
    assert scrub(text) == expected
    assert find_personal_data(text), text
    assert find_personal_data(scrub(text)) == []


@pytest.mark.parametrize("text", NEGATIVES)
def test_keeps_what_is_not_personal(text: str) -> None:
    assert scrub(text) == text
    assert find_personal_data(text) == []


def test_luhn_and_nik_checks() -> None:
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert plausible_nik("3374012502900003")
    assert plausible_nik("3201156508850001")  # born on the 25th, a woman (+40)
    assert not plausible_nik("9999999999999999")  # province 99
    assert not plausible_nik("3374011399900003")  # month 99


def test_unplausible_16_digits_that_fail_luhn_are_kept() -> None:
    assert scrub("resi 9999999999999999") == "resi 9999999999999999"


def test_kinds_reported() -> None:
    assert find_personal_data("wa 081234567890 email a@b.id") == [EMAIL, PHONE]


def test_hostile_text_is_cut() -> None:
    hostile = ("nama saya budi, wa 081234567890 " * 3000) + ("@a" * 5000)
    result = scrub(hostile)
    assert len(result) <= 1000
    assert "budi" not in result and "081234567890" not in result
    assert "0812-" * 3 in scrub("0812-" * 5000)  # 20 digits and more are no phone

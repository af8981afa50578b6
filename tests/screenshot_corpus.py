"""A corpus of rendered screenshots of Indonesian social-media posts, built by the tests.

No real screenshot is committed (they would carry real people's posts): each
sample is drawn with Pillow and the DejaVu fonts (Debian `fonts-dejavu-core`,
scripts/system_deps.sh) in the style of a TikTok, Instagram, Facebook or X post,
with the account handle, interface words ("Mengikuti", "Suka", "Balas", view
counts), the post text in Indonesian and, on most, the post's link (in a
browser's address bar, in the text, or wrapped over two lines). Then it is
spoiled like a forwarded screenshot: rescaled, noised, JPEG-compressed.

Everything is drawn from a seeded random generator, so the corpus is the same
on every machine. `tests/unit/test_ocr_corpus.py` asserts the recall of URLs
and handles on it; `scripts/bench_ocr.py` prints recall and time per image.
"""

from __future__ import annotations

import io
import random
import string
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT = FONT_DIR / "DejaVuSans.ttf"
FONT_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
WIDTH, HEIGHT = 720, 1280
PLATFORMS = ("tiktok", "instagram", "facebook", "x")

NAMES = ("akunpalsu", "relawan_biru", "info.pemilu24", "suara_rakyat88", "kabar_jateng",
         "bela_paslon02", "warga_kritis", "pantau.kampanye", "jejak_caleg", "lensa_nusantara",
         "gerakan_muda01", "ruang_publik_id")
POSTS = (
    "Jangan pilih calon itu, dia antek asing dan musuh agama kita!",
    "Bagi-bagi sembako gratis dari tim pemenangan, datang ke balai desa besok pagi.",
    "Kotak suara di TPS 12 sudah dicoblos duluan, pemilu ini pasti curang.",
    "Camat kami ikut kampanye pakai seragam dinas, apa boleh begitu?",
    "Setiap warga yang datang ke acara dapat amplop lima puluh ribu rupiah.",
    "Berita bohong: KPU sudah menetapkan pemenang sebelum pemungutan suara.",
    "Kampanye di masjid saat salat Jumat, spanduk paslon dipasang di mimbar.",
    "Hati-hati, surat suara palsu beredar di kecamatan kita, sebarkan!",
)
INTERFACE = {
    "tiktok": ("Mengikuti", "Suka", "Komentar", "Bagikan", "Untuk Anda", "Balas"),
    "instagram": ("Ikuti", "Disukai oleh", "Lihat semua komentar", "Balas", "Kirim"),
    "facebook": ("Suka", "Komentari", "Bagikan", "Balas", "Ikuti", "Publik"),
    "x": ("Ikuti", "Posting", "Tayangan", "Balas", "Repost", "Suka"),
}


@dataclass(frozen=True)
class Screenshot:
    """One rendered sample: the JPEG bytes and what it shows."""

    name: str
    platform: str
    data: bytes
    handle: str  # "@akunpalsu"
    url: str | None  # without scheme, as shown ("vt.tiktok.com/ZSabc123")
    post_text: str


#: Letters and digits of the random link codes. "I" and "l" (the same vertical bar in
#: DejaVu Sans) and "O" and "0" (the same oval but for a hair of width) are left out:
#: no reader tells them apart in a random code, and a person would not either.
CODE_CHARS = "".join(c for c in string.ascii_letters + string.digits if c not in "IlO0")


def _code(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(CODE_CHARS) for _ in range(length))


def post_url(platform: str, name: str, rng: random.Random) -> str:
    """A link of the platform's usual shape (no scheme, as apps show it)."""
    if platform == "tiktok":
        return rng.choice([f"vt.tiktok.com/ZS{_code(rng, 7)}",
                           f"tiktok.com/@{name}/video/{rng.randrange(10**18, 10**19)}"])
    if platform == "instagram":
        return f"instagram.com/p/{_code(rng, 11)}"
    if platform == "facebook":
        page = name.replace("_", ".")
        return rng.choice([f"facebook.com/{page}/posts/{rng.randrange(10**9, 10**10)}",
                           f"fb.watch/{_code(rng, 10)}"])
    return f"x.com/{name}/status/{rng.randrange(10**18, 10**19)}"


def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(FONT_BOLD if bold else FONT), size)


def _wrap(draw: ImageDraw.ImageDraw, text: str, font: ImageFont.FreeTypeFont,
          width: int) -> list[str]:
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}".strip()
        if draw.textlength(candidate, font=font) <= width:
            line = candidate
        else:
            lines.append(line)
            line = word
    if line:
        lines.append(line)
    return lines


def render(platform: str, handle: str, post: str, url: str | None, *, dark: bool,
           url_place: str, rng: random.Random) -> Image.Image:
    """Draw one post in the style of `platform` (720x1280, like a phone screenshot)."""
    background, ink, muted = ((0, 0, 0), (245, 245, 245), (160, 160, 160)) if dark else (
        (255, 255, 255), (20, 20, 20), (110, 110, 110))
    image = Image.new("RGB", (WIDTH, HEIGHT), background)
    draw = ImageDraw.Draw(image)
    words = INTERFACE[platform]
    y = 30
    if url and url_place == "address_bar":
        draw.rounded_rectangle((20, y, WIDTH - 20, y + 60), 28,
                               fill=(60, 60, 60) if dark else (235, 235, 235))
        size = 26  # a browser shrinks a long address to fit its bar
        while size > 16 and draw.textlength(url, font=_font(size)) > WIDTH - 100:
            size -= 1
        draw.text((50, y + 30), url, font=_font(size), fill=ink, anchor="lm")
        y += 100
    # The author line: avatar, handle, follow button.
    draw.ellipse((30, y, 100, y + 70), fill=(rng.randrange(60, 200), 90, 160))
    draw.text((120, y + 4), handle, font=_font(30, bold=True), fill=ink)
    draw.text((120, y + 42), rng.choice(["2 jam", "kemarin", "3 hari", "12 menit"]),
              font=_font(22), fill=muted)
    follow = words[0]
    draw.rounded_rectangle((WIDTH - 200, y + 10, WIDTH - 30, y + 60), 10,
                           fill=(230, 40, 80) if platform == "tiktok" else (30, 110, 230))
    draw.text((WIDTH - 185, y + 20), follow, font=_font(24, bold=True), fill=(255, 255, 255))
    y += 110
    body = _font(30)
    for line in _wrap(draw, post, body, WIDTH - 80):
        draw.text((40, y), line, font=body, fill=ink)
        y += 44
    if url and url_place in ("text", "wrapped"):
        # Apps wrap a long link where the line ends, mid-word; "wrapped" forces it.
        y += 10
        cut = len(url)
        while cut > 8 and draw.textlength(url[:cut], font=body) > WIDTH - 80:
            cut -= 1
        if url_place == "wrapped":
            cut = min(cut, max(8, len(url) * 3 // 5))
        for part in (url[:cut], url[cut:]):
            if part:
                draw.text((40, y), part, font=body, fill=(40, 120, 220))
                y += 44
    # A picture placeholder, then the interface bar with counts.
    y += 20
    draw.rectangle((40, y, WIDTH - 40, y + 420), fill=(rng.randrange(40, 220),
                                                      rng.randrange(40, 220), 120))
    y += 450
    counts = [f"{rng.randrange(1, 999)},{rng.randrange(1, 9)} rb", str(rng.randrange(10, 999)),
              f"{rng.randrange(1, 99)} rb"]
    x = 40
    for word, count in zip(words[1:4], counts, strict=False):
        draw.text((x, y), f"{count} {word}", font=_font(24), fill=muted)
        x += 220
    y += 60
    draw.text((40, y), f"{rng.randrange(2, 80)},{rng.randrange(1, 9)} rb tayangan  ·  "
              f"{words[-1]}", font=_font(24), fill=muted)
    return image


def spoil(image: Image.Image, rng: random.Random) -> bytes:
    """Rescale, add noise and compress as JPEG, like a forwarded screenshot."""
    scale = rng.uniform(0.75, 1.25)
    image = image.resize((int(WIDTH * scale), int(HEIGHT * scale)), Image.BICUBIC)
    noise = Image.effect_noise(image.size, rng.uniform(8, 20)).convert("RGB")
    image = Image.blend(image, noise, rng.uniform(0.04, 0.10))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=rng.randrange(45, 85))
    return out.getvalue()


def build_corpus(per_platform: int = 6, seed: int = 19) -> list[Screenshot]:
    """`per_platform` samples of each platform style, the same for the same seed."""
    rng = random.Random(seed)
    samples: list[Screenshot] = []
    for platform in PLATFORMS:
        for number in range(per_platform):
            name = rng.choice(NAMES)
            handle = f"@{name}"
            post = rng.choice(POSTS)
            place = ("address_bar", "text", "wrapped", "none")[number % 4]
            url = None if place == "none" else post_url(platform, name, rng)
            image = render(platform, handle, post, url, dark=number % 3 == 2,
                           url_place=place, rng=rng)
            samples.append(Screenshot(f"{platform}-{number}", platform, spoil(image, rng),
                                      handle, url, post))
    return samples


def akunpalsu_screenshot() -> bytes:
    """The screenshot of the end-to-end test: a TikTok post by @akunpalsu with its
    short link vt.tiktok.com/ZSabc123, as a JPEG."""
    rng = random.Random(2024)
    image = render("tiktok", "@akunpalsu",
                   "Jangan pilih calon itu, dia antek asing dan musuh agama kita!",
                   "vt.tiktok.com/ZSabc123", dark=False, url_place="text", rng=rng)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()

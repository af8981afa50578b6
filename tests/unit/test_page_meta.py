"""A page's own title, description, author and publish time (bot/archive/page_meta.py)."""

from __future__ import annotations

from bot.archive.page_meta import MAX_VALUE_CHARS, page_meta


def test_meta_tags_win_over_json_ld_and_title_falls_back_to_the_title_tag() -> None:
    html = (b'<title> Judul\n tag </title><meta name="author" content="Redaksi">'
            b'<script type="application/ld+json">{"@graph": [{"@type": "Article", '
            b'"author": [{"name": "Orang Lain"}], "datePublished": "2026-11-01", '
            b'"description": "dari JSON-LD"}]}</script>')
    assert page_meta(html) == {"title": "Judul tag", "author": "Redaksi",
                               "published": "2026-11-01", "description": "dari JSON-LD"}


def test_hostile_or_broken_markup_gives_what_it_can() -> None:
    html = (b'<meta property="og:title" content="' + b"A" * 10_000 + b'">'
            b'<script type="application/ld+json">{not json</script>'
            b'<script type="application/ld+json">' + b"[" * 5000 + b"</script>"
            b'<meta name="description" content="   ">' + b"<meta" * 20_000)
    found = page_meta(html)
    assert found == {"title": "A" * MAX_VALUE_CHARS}


def test_charset_and_nothing_found() -> None:
    assert page_meta("<title>Pemilu é</title>".encode("latin-1"), "iso-8859-1") == {
        "title": "Pemilu é"}
    assert page_meta(b"<p>tanpa judul</p>", "no-such-charset") == {}

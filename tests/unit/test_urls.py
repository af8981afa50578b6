"""Link extraction, validation, canonical form, platforms and the SSRF address policy."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.urls import (
    UrlError,
    canonicalize,
    detect_platform,
    extract_urls,
    is_public_address,
    is_short_link,
    parse_and_validate,
    parse_host_ip,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("min ada hoaks https://vt.tiktok.com/ZS8abc/ di kota pekalongan",
         ["https://vt.tiktok.com/ZS8abc/"]),
        ("linknya vt.tiktok.com/ZS8abc/", ["vt.tiktok.com/ZS8abc/"]),
        ("cek www.facebook.com/groups/1/posts/2.", ["www.facebook.com/groups/1/posts/2"]),
        ("(https://x.com/a/status/1)", ["https://x.com/a/status/1"]),
        ("dua link: bit.ly/abc, s.id/xyz!", ["bit.ly/abc", "s.id/xyz"]),
        ("sama https://youtu.be/abc https://youtu.be/abc", ["https://youtu.be/abc"]),
        ("email saya warga@contoh.com ya", []),
        ("kode LP-7K3QX9 gimana", []),
        ("tidak ada tautan di sini", []),
        ("\"https://instagram.com/p/CzQw\"", ["https://instagram.com/p/CzQw"]),
    ],
)
def test_extract_urls(text: str, expected: list[str]) -> None:
    assert extract_urls(text) == expected


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("javascript:alert(1)", "bad_scheme"),
        ("ftp://example.com/file", "bad_scheme"),
        ("file:///etc/passwd", "bad_scheme"),
        ("http://user:pass@example.com/", "credentials"),
        ("http://example.com:8080/", "bad_port"),
        ("http://example.com:22/", "bad_port"),
        ("http://exa mple.com/", "bad_host"),
        ("http://-bad-.com/", "bad_host"),
        ("https://" + "a" * 2100 + ".com", "too_long"),
        ("http://localhost/admin", "blocked"),
        ("http://app.localhost/", "blocked"),
        ("http://127.0.0.1/", "blocked"),
        ("http://2130706433/", "blocked"),
        ("http://0177.0.0.1/", "blocked"),
        ("http://0x7f.1/", "blocked"),
        ("http://127.1/", "blocked"),
        ("http://[::1]/", "blocked"),
        ("http://[::ffff:127.0.0.1]/", "blocked"),
        ("http://169.254.169.254/latest/meta-data", "blocked"),
        ("http://10.0.0.5/", "blocked"),
        ("http://192.168.1.1/", "blocked"),
        ("http://172.16.0.1/", "blocked"),
        ("http://0.0.0.0/", "blocked"),
        ("", "empty"),
    ],
)
def test_parse_and_validate_refuses(raw: str, code: str) -> None:
    with pytest.raises(UrlError) as error:
        parse_and_validate(raw)
    assert error.value.code == code
    assert error.value.message_id  # a polite Indonesian reason for the citizen


@pytest.mark.parametrize(
    ("raw", "url"),
    [
        ("vt.tiktok.com/ZS8abc/", "https://vt.tiktok.com/ZS8abc/"),
        ("http://example.com", "http://example.com/"),
        ("HTTPS://WWW.Example.COM/Path", "https://www.example.com/Path"),
        ("https://bücher.example/", "https://xn--bcher-kva.example/"),
        ("https://8.8.8.8/dns", "https://8.8.8.8/dns"),
    ],
)
def test_parse_and_validate_accepts(raw: str, url: str) -> None:
    assert parse_and_validate(raw).url == url


@pytest.mark.parametrize(
    ("variants", "canonical"),
    [
        (["https://www.youtube.com/watch?v=abc&feature=share", "youtu.be/abc?si=xyz",
          "https://m.youtube.com/shorts/abc", "https://youtube.com/watch?v=abc#t=10"],
         "https://youtube.com/watch?v=abc"),
        (["https://twitter.com/User/status/17?s=20&t=abc", "https://x.com/user/status/17",
          "https://mobile.twitter.com/user/status/17/"],
         "https://x.com/user/status/17"),
        (["https://www.tiktok.com/@Akun/video/73?is_from_webapp=1&sender_device=pc",
          "https://m.tiktok.com/@akun/video/73/"],
         "https://tiktok.com/@akun/video/73"),
        (["https://m.facebook.com/groups/1/posts/2/?mibextid=x#frag",
          "https://web.facebook.com/groups/1/posts/2?fbclid=abc",
          "https://fb.com/groups/1/posts/2"],
         "https://facebook.com/groups/1/posts/2"),
        (["https://instagram.com/p/CzQw/?igsh=1&utm_source=ig",
          "https://www.instagram.com/p/CzQw?igshid=abc", "https://instagr.am/p/CzQw"],
         "https://instagram.com/p/CzQw"),
        (["https://berita.example.id/a?utm_campaign=x&b=2&a=1",
          "https://berita.example.id/a/?a=1&b=2&gclid=z"],
         "https://berita.example.id/a?a=1&b=2"),
    ],
)
def test_canonicalize_gives_one_string_per_post(variants: list[str], canonical: str) -> None:
    assert {canonicalize(v) for v in variants} == {canonical}


def test_canonicalize_keeps_case_sensitive_ids() -> None:
    assert canonicalize("https://instagram.com/p/AbC") != canonicalize("https://instagram.com/p/abc")


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("https://vt.tiktok.com/ZS8/", "tiktok"),
        ("https://www.tiktok.com/@a/video/1", "tiktok"),
        ("https://fb.watch/abc/", "facebook"),
        ("https://m.facebook.com/x", "facebook"),
        ("https://instagram.com/p/x", "instagram"),
        ("https://twitter.com/a", "x"),
        ("https://t.co/abc", "x"),
        ("https://youtu.be/abc", "youtube"),
        ("https://wa.me/628111", "whatsapp"),
        ("https://chat.whatsapp.com/Abc", "whatsapp"),
        ("https://t.me/kanal", "telegram"),
        ("https://www.threads.net/@a/post/C1", "threads"),
        ("https://sck.io/p/abc", "snackvideo"),
        ("https://berita.example.id/a", "web"),
        ("https://notiktok.com/a", "web"),
    ],
)
def test_detect_platform(url: str, platform: str) -> None:
    assert detect_platform(url) == platform


@pytest.mark.parametrize(
    ("url", "short"),
    [
        ("https://vt.tiktok.com/ZS8/", True),
        ("https://bit.ly/abc", True),
        ("https://s.id/abc", True),
        ("https://t.co/abc", True),
        ("https://fb.watch/abc", True),
        ("https://youtu.be/abc", False),
        ("https://www.tiktok.com/@a/video/1", False),
    ],
)
def test_is_short_link(url: str, short: bool) -> None:
    assert is_short_link(url) is short


@pytest.mark.parametrize(
    ("host", "public"),
    [
        ("8.8.8.8", True),
        ("1.1.1.1", True),
        ("2606:4700::1111", True),
        ("127.0.0.1", False),
        ("2130706433", False),
        ("0177.0.0.1", False),
        ("0x7f.1", False),
        ("127.1", False),
        ("[::1]", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:7f00:1", False),
        ("169.254.169.254", False),
        ("0.0.0.0", False),
        ("[::]", False),
        ("100.64.0.1", False),
        ("fc00::1", False),
        ("fe80::1", False),
        ("2002:7f00:0001::", False),
        ("2002:0a00:0001::", False),
        ("64:ff9b::a00:1", False),
        ("224.0.0.1", False),
        ("255.255.255.255", False),
        ("192.0.2.1", False),
        ("198.18.0.1", False),
    ],
)
def test_address_policy(host: str, public: bool) -> None:
    ip = parse_host_ip(host)
    assert ip is not None
    assert is_public_address(ip) is public


@pytest.mark.parametrize("host", ["example.com", "1.2.3.4.5", "0xg1", "999.1.1.1", "a.b"])
def test_parse_host_ip_ignores_names_and_impossible_numbers(host: str) -> None:
    assert parse_host_ip(host) is None


_hosts = st.from_regex(r"[a-z]{1,10}\.(com|id|net)", fullmatch=True)
_paths = st.lists(st.from_regex(r"[A-Za-z0-9_-]{1,8}", fullmatch=True), max_size=4)
_query = st.dictionaries(st.sampled_from(["a", "b", "utm_source", "fbclid", "id", "v"]),
                         st.from_regex(r"[a-z0-9]{0,5}", fullmatch=True), max_size=4)


@given(host=_hosts, path=_paths, query=_query, www=st.booleans())
def test_canonicalize_is_idempotent(host: str, path: list[str], query: dict[str, str],
                                    www: bool) -> None:
    from urllib.parse import urlencode

    url = f"https://{'www.' if www else ''}{host}/{'/'.join(path)}?{urlencode(query)}"
    once = canonicalize(url)
    assert canonicalize(once) == once
    assert "utm_source" not in once and "fbclid" not in once


@pytest.mark.parametrize("url", ["http://①②⑦.0.0.1/", "http://１２７.0.0.1/admin",
                                 "http://⑯⑨.②⑤④.⑯⑨.②⑤④/latest/meta-data", "http://①⓪.0.0.1/"])
def test_idna_look_alikes_of_private_addresses_are_blocked(url: str) -> None:
    # IDNA maps these to ASCII digits; the result is checked again as an address.
    with pytest.raises(UrlError) as caught:
        parse_and_validate(url)
    assert caught.value.code == "blocked"

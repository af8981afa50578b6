"""Links in chat text: extraction, validation, canonical form, platform, IP policy.

Pure functions, no I/O. `bot.link_checker` uses them for every hop it follows.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bot.report_wording import LINK_PROBLEMS, phrase

logger = logging.getLogger(__name__)

MAX_URL_LENGTH = 2048
ALLOWED_SCHEMES = ("http", "https")
ALLOWED_PORTS = (None, 80, 443)

_TLD = (r"(?:com|net|org|id|co|ly|me|io|watch|app|info|tv|gg|link|site|online|xyz|news|"
        r"biz|am|be|gl|at|cc|to|ws|in|sg|my|us|uk|web\.id|go\.id|ac\.id|or\.id|co\.id|"
        r"sch\.id|my\.id|biz\.id)")
_URL_RE = re.compile(
    r"(?:(?:https?://)\S+|"  # with a scheme
    r"(?<![@\w.-])(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+" + _TLD + r"(?:/\S*)?(?![\w.-]*@))",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"\S+")
_SCHEME_OR_WWW = re.compile(r"https?://|www\.", re.IGNORECASE)
_DOMAIN_IN_TOKEN = re.compile(
    r"[\w-]\.(?:com|id|net|org|ly|me|tv|io|co|gl|be|app)(?![\w-])", re.IGNORECASE)
_HANDLE = re.compile(r"@\w+")
_TRAILING = ".,;:!?)]}\"'>»”’"
_LEADING = "([{<\"'«“‘"
_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")

TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "igshid", "igsh", "si", "feature", "ref", "ref_src", "ref_url", "_r",
    "_t", "is_from_webapp", "sender_device", "mibextid", "share_id", "share_app_id",
    "share_item_id", "share_link_id", "social_sharing", "web_id", "tt_from", "u_code",
    "checksum", "sec_uid", "sec_user_id", "timestamp", "user_id", "utm", "rdid", "rdt",
    "__cft__", "__tn__", "paipv", "eav", "wtsid", "pp",
    "ab_channel", "sfnsn", "extid", "refsrc", "_nc_ht", "_nc_cat", "img_index",
})
# Tracking parameters that only mean tracking on a given platform ("s" on X).
PLATFORM_TRACKING = {"x": frozenset({"s", "t"}), "youtube": frozenset({"t"})}
STRIP_PREFIXES = ("www.", "m.", "mobile.", "web.", "mbasic.", "touch.", "lite.")
HOST_ALIASES = {
    "twitter.com": "x.com", "fb.com": "facebook.com", "instagr.am": "instagram.com",
    "threads.com": "threads.net", "telegram.me": "t.me", "youtube-nocookie.com": "youtube.com",
}
PLATFORM_HOSTS = (
    ("tiktok", ("tiktok.com",)),
    ("facebook", ("facebook.com", "fb.watch", "fb.com", "fb.me", "fb.gg")),
    ("instagram", ("instagram.com", "instagr.am")),
    ("x", ("x.com", "twitter.com", "t.co")),
    ("youtube", ("youtube.com", "youtu.be")),
    ("whatsapp", ("wa.me", "whatsapp.com")),
    ("telegram", ("t.me", "telegram.me", "telegram.org")),
    ("threads", ("threads.net", "threads.com")),
    ("snackvideo", ("snackvideo.com", "sck.io")),
)
SHORT_LINK_HOSTS = frozenset({
    "vt.tiktok.com", "vm.tiktok.com", "bit.ly", "s.id", "t.co", "fb.watch", "fb.me",
    "tinyurl.com", "cutt.ly", "shorturl.at", "rebrand.ly", "ow.ly", "lnkd.in", "goo.gl",
    "tiny.cc", "sck.io", "is.gd", "buff.ly", "t.ly", "rb.gy", "bitly.com", "shope.ee",
})
LOCAL_HOST_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost",
                              "ip6-loopback"})


class UrlError(ValueError):
    """A link that cannot be accepted: a code, and the polite Indonesian reason.

    The reason is the phrase `problem` (the code by default) of
    `link_problems` in bot/resources/report_wording.yml.
    """

    def __init__(self, code: str, problem: str | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.problem = problem or code

    @property
    def message_id(self) -> str:
        """Why the link cannot be used, in Indonesian ("alamat itu bukan situs publik.")."""
        return phrase(LINK_PROBLEMS, self.problem)


@dataclass(frozen=True)
class ParsedUrl:
    """A validated URL and its parts."""

    url: str
    scheme: str
    host: str
    port: int | None
    path: str
    query: str


def extract_urls(text: str) -> list[str]:
    """URLs in free chat text, in order, without duplicates or trailing punctuation."""
    found: list[str] = []
    for match in _URL_RE.finditer(text or ""):
        candidate = match.group(0).lstrip(_LEADING).rstrip(_TRAILING)
        # Balance a closing bracket that belongs to the text, not the URL.
        while candidate.endswith(")") and candidate.count("(") < candidate.count(")"):
            candidate = candidate[:-1]
        if "@" in candidate.split("/", 3)[-1] and "://" not in candidate:
            continue
        if candidate and candidate not in found:
            found.append(candidate)
    return found


def mask_links(text: str) -> str:
    """`text` with links, bare domains and @handles blanked out (same length).

    Links and handles carry digits and place names that are not the message's
    dates or regions ("tiktok.com/@info_bandung/video/2024..."). Linear in the
    length of `text`: it goes token by token (whitespace-separated) with
    patterns that never backtrack over a token, so a hostile 100 kB message
    costs milliseconds, not minutes.
    """
    if not text:
        return text or ""
    pieces: list[str] = []
    last = 0
    for token in _TOKEN.finditer(text):
        start, end = token.span()
        word = token.group(0)
        link = _SCHEME_OR_WWW.search(word)
        if link is not None:
            cut = link.start()
            masked = word[:cut] + " " * (len(word) - cut)
        elif _DOMAIN_IN_TOKEN.search(word):
            masked = " " * len(word)
        else:
            masked = word
        if "@" in masked:
            masked = _HANDLE.sub(lambda m: " " * len(m.group(0)), masked)
        pieces.append(text[last:start])
        pieces.append(masked)
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def parse_host_ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The IP address a host string denotes, in any notation a resolver accepts.

    Understands dotted decimal, a single decimal number (2130706433), octal
    (0177.0.0.1), hexadecimal (0x7f.1), short forms (127.1) and IPv6 (with or
    without brackets). Returns None for host names.
    """
    host = host.strip().lower().rstrip(".")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if "%" in host:
        host = host.split("%", 1)[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or not all(parts):
        return None
    numbers: list[int] = []
    for part in parts:
        try:
            if part.startswith("0x"):
                numbers.append(int(part[2:] or "0", 16))
            elif len(part) > 1 and part.startswith("0"):
                numbers.append(int(part, 8))
            else:
                if not part.isdigit():
                    return None
                numbers.append(int(part))
        except ValueError:
            return None
    # inet_aton: the last part fills the remaining bytes.
    width = {1: 32, 2: 24, 3: 16, 4: 8}[len(numbers)]
    if numbers[-1] >= 2**width or any(n > 255 for n in numbers[:-1]):
        return None
    total = numbers[-1]
    for i, n in enumerate(numbers[:-1]):
        total |= n << (24 - 8 * i)
    return ipaddress.IPv4Address(total)


def is_public_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """False for every address a server must never be made to connect to."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip.teredo:
            embedded = ip.teredo[1]
        if embedded is None and ip in ipaddress.ip_network("64:ff9b::/96"):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is None and ip in ipaddress.ip_network("::/96"):
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and not is_public_address(embedded):
            return False
    if (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast
            or ip.is_reserved or ip.is_unspecified or not ip.is_global):
        return False
    if isinstance(ip, ipaddress.IPv4Address):
        if ip in ipaddress.ip_network("100.64.0.0/10") or ip in ipaddress.ip_network(
            "192.0.0.0/24"
        ) or ip in ipaddress.ip_network("198.18.0.0/15"):
            return False
    return True


def _valid_hostname(host: str) -> bool:
    if len(host) > 253 or "." not in host:
        return False
    return all(_HOST_LABEL.match(label) for label in host.split("."))


def parse_and_validate(raw: str) -> ParsedUrl:
    """Check a user-supplied link; raise UrlError with a polite reason when unusable."""
    text = (raw or "").strip()
    if not text:
        raise UrlError("empty")
    if len(text) > MAX_URL_LENGTH:
        raise UrlError("too_long")
    if "://" not in text:
        if re.match(r"^[a-z][a-z0-9+.-]*:", text, re.IGNORECASE) and not re.match(
            r"^[^:/]+:\d", text
        ):
            raise UrlError("bad_scheme")
        text = "https://" + text
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise UrlError("bad_port", "malformed") from exc
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise UrlError("bad_scheme")
    if parts.username is not None or parts.password is not None:
        raise UrlError("credentials")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlError("no_host")
    if port not in ALLOWED_PORTS:
        raise UrlError("bad_port")
    ip = parse_host_ip(host)
    if ip is None:
        try:
            host = host.encode("idna").decode("ascii").lower()
        except UnicodeError as exc:
            raise UrlError("bad_host") from exc
        # IDNA maps look-alike characters to ASCII ("①②⑦.0.0.1" -> "127.0.0.1"):
        # what it produced is checked again, as an address first.
        ip = parse_host_ip(host)
    if ip is None:
        if host in LOCAL_HOST_NAMES or host.endswith(".localhost") or host.endswith(".local"):
            raise UrlError("blocked")
        if not _valid_hostname(host):
            raise UrlError("bad_host")
    elif not is_public_address(ip):
        raise UrlError("blocked")
    netloc = host if ip is None else (str(ip) if ip.version == 4 else f"[{ip}]")
    if port is not None:
        netloc = f"{netloc}:{port}"
    url = urlunsplit((scheme, netloc, parts.path or "/", parts.query, parts.fragment))
    return ParsedUrl(url, scheme, host if ip is None else str(ip), port, parts.path or "/",
                     parts.query)


def _host_platform(host: str) -> str:
    for platform, suffixes in PLATFORM_HOSTS:
        if any(host == s or host.endswith("." + s) for s in suffixes):
            return platform
    return "web"


def _strip_prefixes(host: str) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in STRIP_PREFIXES:
            if host.startswith(prefix) and host.count(".") > 1:
                host = host[len(prefix):]
                changed = True
    return HOST_ALIASES.get(host, host)


def detect_platform(url: str) -> str:
    """tiktok, facebook, instagram, x, youtube, whatsapp, telegram, threads, snackvideo or web."""
    host = (urlsplit(url if "://" in url else "https://" + url).hostname or "").lower()
    return _host_platform(host)


def is_short_link(url: str) -> bool:
    """True for link shorteners whose target must be resolved to know the content."""
    host = (urlsplit(url if "://" in url else "https://" + url).hostname or "").lower()
    return host.removeprefix("www.") in SHORT_LINK_HOSTS


def canonicalize(url: str) -> str:
    """One string for every way of writing the same post (see module docstring)."""
    parsed = parse_and_validate(url)
    parts = urlsplit(parsed.url)
    host = _strip_prefixes(parsed.host.lower())
    platform = _host_platform(host)
    path = re.sub(r"/{2,}", "/", parts.path or "/")
    query = parse_qsl(parts.query, keep_blank_values=True)
    if host == "youtu.be" and path.strip("/"):
        host, query, path = "youtube.com", [("v", path.strip("/").split("/")[0])] + query, "/watch"
    elif host == "youtube.com" and re.match(r"^/(shorts|live|embed)/[^/]+", path):
        video = path.split("/")[2]
        host, query, path = "youtube.com", [("v", video)] + query, "/watch"
    drop = PLATFORM_TRACKING.get(platform, frozenset())
    kept = sorted(
        (k, v) for k, v in query
        if not k.lower().startswith("utm_") and k.lower() not in TRACKING_PARAMS
        and k.lower() not in drop
    )
    if len(path) > 1:
        path = path.rstrip("/")
    if platform in {"tiktok", "x"}:
        # Handles are case-insensitive and post ids are numeric on these platforms.
        path = path.lower()
    scheme = "https" if parsed.scheme in ("http", "https") and platform != "web" else parsed.scheme
    netloc = host if parsed.port in (None, 80, 443) else f"{host}:{parsed.port}"
    return urlunsplit((scheme, netloc, path, urlencode(kept), ""))

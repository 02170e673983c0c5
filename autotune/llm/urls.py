"""Server URLs: checked before any data is sent, credentials kept out of what is shown.

A typo in a URL must never send prompts somewhere else (for example to the default
public endpoint), so a URL is either well-formed ``http(s)://host[:port][/path]`` or a
:class:`ConfigError`. Credentials written into a URL (``user:password@``) are taken out
of it and sent as an HTTP Basic ``Authorization`` header instead.
"""

from __future__ import annotations

import base64
import re
from urllib.parse import unquote, urlsplit, urlunsplit

from autotune.errors import ConfigError

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_USERINFO = re.compile(r"(?i)(https?://)[^/\s@]*@")


def display_url(url: str) -> str:
    """``url`` without user info, query or fragment (they may carry credentials)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path.rstrip("/"), "", ""))


def redact_urls(text: str) -> str:
    """``text`` (a model string, a message) with every ``user:password@`` of a URL removed."""
    return _USERINFO.sub(r"\1", text)


def split_credentials(url: str) -> tuple[str, dict[str, str]]:
    """``url`` without ``user:password@``, and the Basic auth header that carries them."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, {}
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    pair = f"{unquote(parts.username or '')}:{unquote(parts.password or '')}"
    return clean, {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}


def check_base_url(url: str, field: str = "base_url") -> str:
    """``url`` if it is a well-formed ``http(s)://host[:port][/path]``, scheme lower-cased.

    Raises:
        ConfigError: Anything else (no or another scheme, whitespace, no host, a bad
            port, a query or fragment), naming ``field`` and the URL without credentials.
    """
    shown = redact_urls(url)
    if url != url.strip() or any(ch.isspace() for ch in url):
        raise ConfigError(f"server URL {shown!r} contains whitespace", field=field)
    match = _SCHEME.match(url)
    if match is None:
        hint = f" (did you mean 'http://{shown}'?)" if shown else ""
        raise ConfigError(f"server URL {shown!r} needs http:// or https://{hint}", field=field)
    scheme = match.group(1).lower()
    if scheme not in ("http", "https"):
        raise ConfigError(f"server URL {shown!r} must use http or https", field=field)
    url = scheme + url[len(match.group(1)) :]
    parts = urlsplit(url)
    try:
        _ = parts.port
    except ValueError:
        raise ConfigError(f"server URL {shown!r} has an invalid port", field=field) from None
    if parts.netloc.endswith(":"):
        raise ConfigError(f"server URL {shown!r} has an invalid port", field=field)
    if not parts.hostname:
        raise ConfigError(f"server URL {shown!r} has no host", field=field)
    if parts.query or parts.fragment or url.endswith(("?", "#")):
        raise ConfigError(f"server URL {shown!r} must not have a query or fragment", field=field)
    return url

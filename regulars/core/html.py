"""HTML that came from outside is sanitised once, before it is stored."""

from __future__ import annotations

import html as stdlib_html
import re

import nh3

_ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "div", "em", "h1", "h2", "h3", "h4", "hr", "i", "img",
    "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td", "th", "thead",
    "tr", "u", "ul",
}  # fmt: skip
_ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title"},
    "td": {"colspan"},
    "th": {"colspan"},
}
_BLOCK_END = re.compile(r"</(p|div|li|tr|h[1-4]|blockquote|pre)>|<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_BLANK_LINES = re.compile(r"\n{3,}")


def sanitise_html(raw: str) -> str:
    # Links open outside the app and never pass a referrer; only http(s), mailto and cid
    # (inline e-mail images) survive as URL schemes.
    return nh3.clean(
        raw,
        tags=_ALLOWED_TAGS,
        attributes=_ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "cid"},
        link_rel="noopener noreferrer nofollow",
    )


def html_to_text(raw: str) -> str:
    """Readable plain text of sanitised HTML, for search and plain-text mail."""
    text = _BLOCK_END.sub("\n", raw)
    text = _TAG.sub("", text)
    text = stdlib_html.unescape(text)
    return _BLANK_LINES.sub("\n\n", text).strip()


def text_to_html(text: str) -> str:
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p]
    return "".join("<p>" + stdlib_html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs)

"""The locale money is shown in: the user's own, or the one picked with ``?locale=`` (kept in
the session). Formatting is the library's (``kanorio_refunds.display.format_money``)."""

from __future__ import annotations

from typing import Final

from flask import g, request, session

from kanorio_refunds import Money
from kanorio_refunds.display import (
    DEFAULT_LOCALE,
    UnknownLocale,
    format_money,
    locale_name,
    localize_amounts,
)

#: The locales offered in the switch: their canonical names and how they call themselves.
OFFERED: Final[dict[str, str]] = {
    "en_US": "English (United States)",
    "en_GB": "English (United Kingdom)",
    "de_DE": "Deutsch (Deutschland)",
    "fr_FR": "Français (France)",
    "ja_JP": "日本語 (日本)",
}
_KEY: Final = "locale"


def choose_locale(user_locale: str | None) -> str:
    """The locale of this request: ``?locale=`` when it is offered (then kept in the session),
    else the one kept, else the user's, else the default."""
    asked = request.args.get("locale")
    if asked:
        try:
            name = locale_name(asked)
        except UnknownLocale:
            name = ""
        if name in OFFERED:
            session[_KEY] = name
    kept = session.get(_KEY)
    if isinstance(kept, str) and kept in OFFERED:
        return kept
    return user_locale if user_locale in OFFERED else DEFAULT_LOCALE


def money(value: Money) -> str:
    """The Jinja filter ``|money``: ``value`` in the request's locale."""
    return format_money(value, getattr(g, "locale", DEFAULT_LOCALE))


def localized(text: str) -> str:
    """The Jinja filter ``|localized``: a sentence of the library ("Refund of 20.00 USD
    succeeded") with its amounts in the request's locale ("Refund of $20.00 succeeded")."""
    return localize_amounts(text, getattr(g, "locale", DEFAULT_LOCALE))

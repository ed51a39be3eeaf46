"""The pages' words: every UI string lives in ``strings.yaml`` (zh and en); Chinese first.

Templates call ``t("key")`` (``t("key", n=3)`` fills ``{n}``); ``app.js`` gets the same table
for the page's language as JSON and calls ``T("key")``. The language is the ``hs_lang`` cookie,
set by the toggle (``/web/lang/en``), else Chinese.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from starlette.requests import HTTPConnection

from analyzer.resources import read_yaml

LANGS = ("zh", "en")
DEFAULT = "zh"
LANG_COOKIE = "hs_lang"
STRINGS = Path(__file__).with_name("strings.yaml")
HTML_LANG = {"zh": "zh-CN", "en": "en"}


@cache
def strings() -> dict[str, dict[str, str]]:
    """``{key: {"zh": ..., "en": ...}}``; a key without both languages is an error at load time."""
    data = read_yaml(STRINGS.read_text(encoding="utf-8"))
    for key, entry in data.items():
        if not isinstance(entry, dict) or any(not isinstance(entry.get(lang), str) for lang in LANGS):
            raise ValueError(f"{STRINGS.name}: {key} needs a zh and an en string")
    return data


def table(lang: str) -> dict[str, str]:
    return {key: entry[lang] for key, entry in strings().items()}


def translator(lang: str) -> Callable[..., str]:
    words = table(lang)

    def t(key: str, **values: object) -> str:
        text = words[key]  # an unknown key is a bug: tests/web checks every key used
        return text.format(**values) if values else text

    return t


def lang_of(conn: HTTPConnection) -> str:
    lang = conn.cookies.get(LANG_COOKIE, "")
    return lang if lang in LANGS else DEFAULT

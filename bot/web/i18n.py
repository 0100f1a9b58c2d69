"""The console's languages: one Jinja2 environment per language, its gettext read from a .po catalogue.

The catalogues (bot/web/translations/<lang>/LC_MESSAGES/console.po) are read with Babel when the
process starts, so a fresh clone needs no compile step; `pybabel extract/update` keep them current."""
from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader

from bot.mail.render import TEMPLATES_DIR

CATALOGUES = Path(__file__).resolve().parent / "translations"
LANGUAGES = {"en": "English", "zh": "中文"}


@cache
def translations(language: str) -> NullTranslations:
    """The catalogue for `language` (English is the source text itself)."""
    po = CATALOGUES / language / "LC_MESSAGES" / "console.po"
    if language == "en" or not po.exists():
        return NullTranslations()
    with po.open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


@cache
def templates(language: str) -> Jinja2Templates:
    """templates/web/ autoescaped, with _(), gettext, ngettext and {% trans %} in `language`."""
    env = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR / "web")), autoescape=True,
                      extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(language), newstyle=True)
    return Jinja2Templates(env=env)


def gettext(language: str):
    return translations(language).gettext

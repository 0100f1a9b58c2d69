"""Jinja2 templates for outgoing mail, chosen by kind and the requester's language."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
LANGUAGES = ("en", "zh", "bilingual")


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str


class MailRenderer:
    def __init__(self, templates_dir: Path = TEMPLATES_DIR) -> None:
        self.env = Environment(
            loader=FileSystemLoader(str(templates_dir)),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,  # a missing value is a bug, not a blank in a user's mail
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
            auto_reload=False,          # templates are read once per process, not stat()ed per mail
        )

    def render(self, template: str, language: str, **context: object) -> RenderedMail:
        """Render templates/email/<lang>/<template>.subject.j2 and <template>.txt.j2."""
        lang = language if language in LANGUAGES else "en"  # "other" languages get English
        subject = self.env.get_template(f"email/{lang}/{template}.subject.j2").render(**context)
        text = self.env.get_template(f"email/{lang}/{template}.txt.j2").render(**context)
        return RenderedMail(subject=" ".join(subject.split()), text=text)

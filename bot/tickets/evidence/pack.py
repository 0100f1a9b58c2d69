"""Writes one ticket's evidence pack: summary.html (requester's language and English), .eml, audit.jsonl."""
from __future__ import annotations

import json
import zipfile
from datetime import datetime
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlmodel import Session

from bot.config import Settings
from bot.tickets.evidence.facts import Facts, detail_text, gather, messages
from bot.tickets.evidence.redact import mail_without_codes
from bot.store.models import Ticket
from bot.mail.render import TEMPLATES_DIR

SUMMARY_LANGUAGES = ("zh",)   # besides English, which every pack has
_env = Environment(loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=select_autoescape(("html", "j2")),
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_env.filters["when"] = lambda at: f"{at:%Y-%m-%d %H:%M} UTC" if at else ""
_env.filters["detail"] = detail_text


def write_pack(session: Session, settings: Settings, ticket: Ticket, out, now: datetime) -> Facts:
    """Write the pack for `ticket` to `out` (a path or a binary file); returns what it states."""
    facts = gather(session, settings, ticket)
    stamp = now.timetuple()[:6]
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as pack:
        def put(name: str, data: bytes | str) -> None:
            pack.writestr(zipfile.ZipInfo(f"{ticket.reference}/{name}", stamp), data,
                          compress_type=zipfile.ZIP_DEFLATED)

        listed = messages(session, facts)
        for n, item in enumerate(listed, 1):
            raw, item["file"] = item.pop("raw"), None
            if raw and item["withheld"] != "other":
                item["file"] = f"messages/{n:03d}-{item['direction']}-{item['at']:%Y%m%dT%H%M%S}.eml"
                put(item["file"], mail_without_codes(raw))
        put("audit.jsonl", "".join(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n"
                                   for row in facts.audit))
        put("chain-head.json", json.dumps({"ticket": ticket.reference, "rows": len(facts.audit),
                                           "head": facts.chain_head, "intact": facts.chain_intact,
                                           "first_break": facts.chain_break, "made_at": f"{now:%Y-%m-%d %H:%M:%S} UTC"},
                                          indent=2) + "\n")
        languages = [lang for lang in SUMMARY_LANGUAGES if ticket.language == lang] + ["en"]
        put("summary.html", _env.get_template("evidence/summary.html.j2").render(
            f=facts, t=ticket, messages=listed, languages=languages, now=now, settings=settings))
    return facts


def write_pack_file(session: Session, settings: Settings, ticket: Ticket, path: Path, now: datetime) -> Facts:
    with open(path, "wb") as out:
        return write_pack(session, settings, ticket, out, now)

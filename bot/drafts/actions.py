"""Runs the side effects of approved deletions: each at most once, anything odd left for staff."""
from __future__ import annotations

import logging
import subprocess

from sqlalchemy import create_engine, text
from sqlmodel import select

from bot.store import audit
from bot.clock import Clock
from bot.config import Settings
from bot.store.db import SessionFactory, transaction
from bot.store.write_lock import take_write_lock
from bot.store.models import ActionRun

log = logging.getLogger(__name__)


def run_pending_actions(sessions: SessionFactory, settings: Settings, clock: Clock) -> int:
    """Claim and run pending actions. A row left 'running' by a crash is never re-run by itself."""
    done = 0
    while True:
        with transaction(sessions) as session:
            take_write_lock(session)
            query = select(ActionRun).where(ActionRun.status == "pending").order_by(ActionRun.id).limit(1)
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            run = session.exec(query).first()
            if run is None:
                return done
            run.status = "running"
            session.add(run)
        ok, result = _execute(run, settings)
        with transaction(sessions) as session:
            fresh = session.get(ActionRun, run.id)
            fresh.status, fresh.result, fresh.finished_at = ("done" if ok else "failed"), result[:2000], clock.now()
            session.add(fresh)
            audit.record(session, clock.now(), f"action.{fresh.status}", ticket_id=fresh.ticket_id,
                         step=fresh.action, account_id=fresh.account_id, result=result[:500])
        done += 1


def _execute(run: ActionRun, settings: Settings) -> tuple[bool, str]:
    cfg = settings.deletion
    try:
        if run.action == "deletion.sql":
            engine = create_engine(cfg.url or settings.accounts.url)
            try:
                with engine.begin() as conn:  # all statements or none
                    counts = [conn.execute(text(sql), {"account_id": run.account_id}).rowcount for sql in cfg.sql]
            finally:
                engine.dispose()
            return True, f"rows affected: {counts}"
        if run.action == "deletion.command":
            argv = [arg.replace("{account_id}", run.account_id) for arg in cfg.command]
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=cfg.timeout_seconds)
            return proc.returncode == 0, f"exit {proc.returncode}: {(proc.stdout + proc.stderr)[-1000:]}"
        return False, f"unknown action {run.action}"
    except Exception as exc:  # noqa: BLE001 - recorded for staff, never retried blindly
        log.warning("action %s for ticket %s failed: %s", run.action, run.ticket_id, type(exc).__name__)
        return False, f"{type(exc).__name__}: {exc}"

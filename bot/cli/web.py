"""`supportbot users add|list|disable|enable|passwd` (staff accounts), `supportbot web` (the console alone), serving until Ctrl-C."""
from __future__ import annotations

import json
import sys

import typer
from rich.console import Console

users_app = typer.Typer(help="Staff accounts of the web console.", no_args_is_help=True)
PASSWORD_STDIN = typer.Option(False, "--password-stdin", help="Read the password from standard input (for scripts).")
console = Console()
errors = Console(stderr=True)


def _sessions(ctx: typer.Context):
    from bot.store.db import open_database
    return open_database(ctx.obj.database.url)


def _min_length(ctx: typer.Context) -> int:
    from bot.config.web import web_settings
    return web_settings(ctx.obj).password_min_length


def _read_password(from_stdin: bool, min_length: int) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")   # for scripts: `printf %s "$PW" | supportbot users add ...`
    return typer.prompt(f"Password (at least {min_length} characters)", hide_input=True, confirmation_prompt=True)


def _change(ctx: typer.Context, change, *args, **kwargs):
    """Run one account change in a transaction; a refusal is printed and exits with status 1."""
    from bot.store.db import transaction
    from bot.web.auth import UserError
    try:
        with transaction(_sessions(ctx)) as session:
            return change(session, *args, **kwargs).email
    except UserError as exc:
        errors.print(str(exc))
        raise typer.Exit(1) from None


@users_app.command("add")
def users_add(ctx: typer.Context, email: str = typer.Argument(..., help="The staff member's address (their login)."),
              role: str = typer.Option("staff", "--role", help="staff or manager"),
              password_stdin: bool = PASSWORD_STDIN) -> None:
    """Create a staff account; the password is asked for twice (or read from standard input)."""
    from bot.clock import SystemClock
    from bot.web.auth import add_user
    minimum = _min_length(ctx)
    password = _read_password(password_stdin, minimum)
    added = _change(ctx, add_user, email, password, role=role, now=SystemClock().now(), min_length=minimum)
    console.print(f"added {added} ({role})", highlight=False)


@users_app.command("passwd")
def users_passwd(ctx: typer.Context, email: str,
                 password_stdin: bool = PASSWORD_STDIN) -> None:
    """Set a new password; the account's sessions end."""
    from bot.web.auth import set_password
    minimum = _min_length(ctx)
    password = _read_password(password_stdin, minimum)
    console.print(f"password changed for {_change(ctx, set_password, email, password, min_length=minimum)}",
                  highlight=False)


@users_app.command("disable")
def users_disable(ctx: typer.Context, email: str) -> None:
    """Disable an account: it cannot log in, and its open sessions end at once."""
    from bot.web.auth import set_active
    console.print(f"disabled {_change(ctx, set_active, email, False)}", highlight=False)


@users_app.command("enable")
def users_enable(ctx: typer.Context, email: str) -> None:
    """Enable a disabled account again."""
    from bot.web.auth import set_active
    console.print(f"enabled {_change(ctx, set_active, email, True)}", highlight=False)


@users_app.command("language")
def users_language(ctx: typer.Context, email: str,
                   language: str = typer.Argument(..., help="en (English) or zh (Chinese)")) -> None:
    """The console's language for one staff member (they can also change it in the console's menu)."""
    from bot.web.auth import set_language
    console.print(f"console in {language} for {_change(ctx, set_language, email, language)}", highlight=False)


@users_app.command("list")
def users_list(ctx: typer.Context,
               as_json: bool = typer.Option(False, "--json", help="One JSON object per line.")) -> None:
    """Staff accounts, by address."""
    from sqlmodel import select
    from bot.store.models import StaffUser
    with _sessions(ctx)() as session:
        users = list(session.exec(select(StaffUser).order_by(StaffUser.email)))
    rows = [{"email": u.email, "role": u.role, "active": u.active, "created_at": u.created_at.isoformat()}
            for u in users]
    if as_json:
        for row in rows:
            sys.stdout.write(json.dumps(row) + "\n")
        return
    from rich.table import Table
    table = Table(title=f"Staff accounts ({len(rows)})", title_justify="left")
    for column in ("Email", "Role", "Active", "Created"):
        table.add_column(column)
    for r in rows:
        table.add_row(r["email"], r["role"], "yes" if r["active"] else "no", r["created_at"][:16])
    console.print(table)


def web(ctx: typer.Context) -> None:
    """Serve the staff console alone (`supportbot run` serves it too), until Ctrl-C."""
    from bot.service.app import build_app
    from bot.web.serve import serve_web
    from bot.store import console_models  # noqa: F401  (the console's tables, for init_db in build_app)
    from bot.config.web import web_settings
    settings = web_settings(ctx.obj)
    console.print(f"staff console on http://{settings.host}:{settings.port}/ ; Ctrl-C stops", highlight=False)
    try:
        bot_app = build_app(ctx.obj)
        run_until_signal(lambda stop: serve_web(bot_app, stop))
    except OSError as exc:
        errors.print(f"cannot listen on {settings.host}:{settings.port}: {exc}")
        raise typer.Exit(1) from None


def run_until_signal(serve) -> None:
    """Run `serve(stop)` (a coroutine function) in a new event loop until SIGINT or SIGTERM sets `stop`."""
    import asyncio   # here, not above: only the commands that serve need an event loop
    import signal

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(stop)

    asyncio.run(main())


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.command()(web)

"""A command line holding only some sub-commands, with settings in ctx.obj as bot.cli.main's callback sets them."""
from __future__ import annotations

from collections.abc import Callable

import typer


def cli_with(settings, register: Callable[[typer.Typer], None]) -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main(ctx: typer.Context) -> None:
        ctx.obj = settings

    register(app)
    return app

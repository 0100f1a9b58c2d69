"""`--help` without a type after on/off flags: Typer 0.29's rich help prints "<bool>" after every flag.

A flag takes no value, so there is no type to show; options with a value keep theirs ("<int>", "<path>")."""
from __future__ import annotations

from typer.core import TyperOption

_value_type = TyperOption.display_type_rich


def _flag_shows_no_type(self: TyperOption, ctx) -> str | None:
    return None if self.is_flag else _value_type(self, ctx)


def hide_flag_types() -> None:
    TyperOption.display_type_rich = _flag_shows_no_type

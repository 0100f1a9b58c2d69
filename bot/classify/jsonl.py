"""Reading JSON Lines files: one object per line, blank lines skipped, errors naming the file and line."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path


def json_objects(path: Path | str, error: type[Exception], *, name: str | None = None
                 ) -> Iterator[tuple[str, dict]]:
    """("name:line", object) for every non-blank line (name: the path unless given); `error` is
    raised for a line that is not a JSON object."""
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{name or path}:{number}"
            try:
                fields = json.loads(line)
            except json.JSONDecodeError as exc:
                raise error(f"{where}: not JSON ({exc.msg})") from None
            if not isinstance(fields, dict):
                raise error(f"{where}: not a JSON object")
            yield where, fields

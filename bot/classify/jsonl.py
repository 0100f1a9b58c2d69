"""Reading JSON Lines files: one object per line, blank lines skipped, errors naming the file and line."""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path


def json_objects(path: Path | str, error: type[Exception]) -> Iterator[tuple[str, dict]]:
    """("file:line", object) for every non-blank line; `error` is raised for a line that is not an object."""
    with open(path, encoding="utf-8") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path}:{number}"
            try:
                fields = json.loads(line)
            except json.JSONDecodeError as exc:
                raise error(f"{where}: not JSON ({exc.msg})") from None
            if not isinstance(fields, dict):
                raise error(f"{where}: not a JSON object")
            yield where, fields

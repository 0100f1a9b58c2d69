"""The `supportbot` command line (Typer): one thin module per command group that parses
arguments, calls a service and prints (main.py assembles them), terminal tables (tables.py) and
the built-in demo (demo/). It sits on top: it may import anything, nothing imports it. Commands
import the services they call inside their functions, so that `--help` loads no settings or
database and only the commands that classify or serve load spaCy or FastAPI (tests/unit/cli/test_cli_imports.py)."""

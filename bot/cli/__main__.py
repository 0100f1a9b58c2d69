"""`python -m bot.cli` runs the supportbot command line."""
from bot.cli.main import app

app(prog_name="supportbot")

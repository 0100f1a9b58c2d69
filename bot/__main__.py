"""`python -m bot` runs the supportbot command line."""
from bot.cli import app

app(prog_name="supportbot")

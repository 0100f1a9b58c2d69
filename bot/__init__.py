"""supportbot: runs a privacy-rights mailbox from intake to approved reply."""

__version__ = "0.1.0"

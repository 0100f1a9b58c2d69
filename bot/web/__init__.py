"""The staff web console: log in, see what is due, read and fix a draft, approve it."""

"""The built-in demo: embedded IMAP and SMTP servers on loopback with bilingual sample mail."""

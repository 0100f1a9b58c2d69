"""Mail edges and message handling: parsing, machine-mail rules, IMAP source, SMTP sink."""

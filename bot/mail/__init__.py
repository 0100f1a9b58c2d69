"""Mail itself and the servers' edges: parsing any MIME (parse.py, body.py, charsets.py,
headers.py, quotes.py, subject.py), machine-mail rules that only look (rules.py, bounces.py),
composing and rendering what we send (compose.py, render.py), the IMAP and SMTP edges (imap.py,
sink.py, sent_copies.py), the SMS gateway edge (sms.py), and the message in flight with the
services every stage is handed (context.py). It imports store, classify and the shared edges."""

"""Mail itself and the servers' edges: parsing any MIME (parse.py, body.py, charsets.py,
headers.py, addresses.py, quotes.py, subject.py), the text a classifier reads (text.py),
rules that only look (rules.py, bounces.py, written_language.py), composing and rendering what
we send (compose.py, render.py), the IMAP, SMTP and SMS edges (imap.py, sink.py,
sent_copies.py, sms.py) and their logins, OAuth2 included (login.py, oauth.py,
oauth_providers.py), `supportbot mail check` (check*.py), and the message in flight with the
services every stage is handed (context.py). It imports store, classify and the shared edges."""

"""The staff web console (FastAPI): log in, see what is due, read and fix a draft, approve it;
quarantine and undelivered mail; /healthz and /metrics for machines. It imports service and
everything below; only cli imports it."""

"""Split a reply into the sender's new text, the quoted earlier mail and the signature."""

from __future__ import annotations

from bot.mail import quote_patterns as patterns

_NEW, _QUOTED = "new", "quoted"
_MAX_WRAP = 3          # attribution lines wrapped by clients over at most this many lines
_BLOCK_LOOKAHEAD = 8   # header block lines read after "From:" to find "Sent:" and friends


def _is_quote(line: str) -> bool:
    return line.lstrip().startswith(">")


def _attribution_span(lines: list[str], i: int) -> int:
    """Lines taken by an "On ... wrote:" attribution starting at line i (0 if none)."""
    first = lines[i].strip()
    # Every attribution ends in ":" (or Zoho's "--"), and only one that opens so may wrap: most
    # lines are neither, and are passed over without the costlier patterns.
    if not first.endswith((":", "：", "-")) and not patterns.opens_attribution(first):
        return 0
    parts: list[str] = []
    for j in range(i, min(i + _MAX_WRAP, len(lines))):
        line = lines[j].strip()
        if not line or len(line) > patterns.MAX_LINE:
            return 0
        if j > i and (not patterns.opens_attribution(parts[0]) or patterns.starts_new_attribution(line)):
            return 0
        parts.append(line)
        if patterns.is_attribution(" ".join(parts)):
            return j - i + 1
    return 0


def _block_span(lines: list[str], i: int, *, any_keys: bool = False) -> int:
    """Lines taken by a "From: / Sent: / To: / Subject:" header block starting at line i."""
    if not any_keys and patterns.key_kind(lines[i]) != "from":
        return 0
    kinds, end = set(), i
    for j in range(i, min(i + _BLOCK_LOOKAHEAD, len(lines))):
        if not lines[j].strip():
            break
        if kind := patterns.key_kind(lines[j]):
            kinds.add(kind)
            end = j + 1  # lines between two keys are a wrapped value and belong too
    if any_keys or ("sent" in kinds and kinds & {"to", "subject", "cc"}):
        return end - i
    return 0


def _header_span(lines: list[str], i: int) -> tuple[int, str]:
    """(lines, kind) of a quote header starting at line i; kind is "reply" or "forward"."""
    line = lines[i]
    if kind := patterns.separator_kind(line):
        if kind == "forward":  # take the forwarded message's own header block with it
            j = i + 1
            while j < len(lines) and not lines[j].strip():
                j += 1
            if j < len(lines) and patterns.key_kind(lines[j]) is not None:
                return j - i + _block_span(lines, j, any_keys=True), kind
        return 1, kind
    span = _block_span(lines, i) or _attribution_span(lines, i)
    return span, "reply"


def _classify(lines: list[str]) -> list[str]:
    kinds = [_NEW] * len(lines)
    i, leading = 0, True  # leading: no new text seen yet
    while i < len(lines):
        if _is_quote(lines[i]):
            kinds[i] = _QUOTED
            i += 1
            continue
        span, kind = _header_span(lines, i)
        if not span:
            leading = leading and not lines[i].strip()
            i += 1
            continue
        start = i
        while start > 0 and not lines[start - 1].strip() and kinds[start - 1] == _NEW:
            start -= 1
        if start > 0 and patterns.is_rule(lines[start - 1]):  # Outlook's "______" above "From:"
            start -= 1
        after = next((j for j in range(i + span, len(lines)) if lines[j].strip()), len(lines))
        if (after < len(lines) and _is_quote(lines[after])) or (leading and kind == "forward"):
            # The header only introduces a ">" block, or opens a plain forward: keep going.
            kinds[start:i + span] = [_QUOTED] * (i + span - start)
            i += span
            continue
        kinds[start:] = [_QUOTED] * (len(lines) - start)
        break
    _close_gaps(lines, kinds)
    return kinds


def _close_gaps(lines: list[str], kinds: list[str]) -> None:
    """Blank lines between two quoted lines belong to the quote, not to the new text."""
    previous, gap = None, []
    for n, line in enumerate(lines):
        if not line.strip():
            gap.append(n)
            continue
        if previous == _QUOTED and kinds[n] == _QUOTED:
            for blank in gap:
                kinds[blank] = _QUOTED
        previous, gap = kinds[n], []


def _join(lines: list[str]) -> str:
    """The lines without surrounding blank lines and trailing spaces."""
    filled = [n for n, line in enumerate(lines) if line.strip()]
    return "\n".join(line.rstrip() for line in lines[filled[0]:filled[-1] + 1]) if filled else ""


def split_reply(text: str) -> tuple[str, str, str]:
    """Return (new_text, quoted_text, signature) of a plain-text mail body."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kinds = _classify(lines)
    new = [line for line, kind in zip(lines, kinds) if kind == _NEW]
    quoted = [line for line, kind in zip(lines, kinds) if kind == _QUOTED]
    filled = [n for n, line in enumerate(new) if line.strip()]
    # A signature may only swallow the whole new text when it stands above a quote.
    cut = next((n for rank, n in enumerate(filled) if (rank or quoted)
                and len(filled) - rank - 1 <= patterns.signature_room(new[n])), None)
    body, signature = (new, []) if cut is None else (new[:cut], new[cut:])
    return _join(body), _join(quoted), _join(signature)

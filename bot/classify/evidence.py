"""Turn pattern matches in one text into weighted evidence for or against each right."""

from __future__ import annotations

from dataclasses import dataclass, replace

from spacy.tokens import Doc

from bot.classify import RIGHTS
from bot.classify.patterns import Found

# A request phrased as a how-to question ("how do I delete my account?") is
# still about that right, but less surely a request to act on.
HOWTO_FACTOR = 0.6
# "Please delete it" with nothing before for "it" to stand for: some request,
# of unknown object.
UNRESOLVED_PRONOUN = 0.45
# Pairs, negations and how-tos never reach across these (nor "break" patterns).
CLAUSE_PUNCTUATION = frozenset(",;:.!?…，；：。！？")


@dataclass(frozen=True)
class Windows:
    """How far, in tokens, things reach in one language."""
    object: int               # from an act to its object, either side
    negation: int             # from a negation to the act it negates
    block: int                # from a blocking near miss to the request it vetoes
    refer: int                # from a pronoun back to what it stands for
    linkers: frozenset[str]   # tokens that make a following object the head ("的", "'s")


# zh tokens are single characters, so its windows are wider.
WINDOWS = {
    "en": Windows(object=5, negation=3, block=2, refer=30, linkers=frozenset({"'s", "’s"})),
    "zh": Windows(object=10, negation=6, block=2, refer=40, linkers=frozenset("的里裡中上内內")),
}


@dataclass(frozen=True)
class Evidence:
    kind: str                 # a right, or "other" for a near miss
    strength: float           # 0..1: pattern weights x where it was found x how-to
    negated: bool = False     # a request for `kind` that the writer negated
    topic: str = ""           # for "other": what the message is about instead
    text: str = ""            # the words it rests on, for explanations


@dataclass(frozen=True)
class Request:
    right: str
    weight: float
    start: int
    end: int
    act_start: int            # where negations and how-tos are measured from


def _clauses(doc: Doc, breaks: list[Found]) -> list[int]:
    starts = {f.start for f in breaks}
    clause, ids = 0, []
    for token in doc:
        if (token.text in CLAUSE_PUNCTUATION or token.i in starts
                or (token.is_space and "\n" in token.text)):
            clause += 1
        ids.append(clause)
    return ids


def _gap(a, b) -> int:
    """Tokens between two matches; -1 when they overlap."""
    return b.start - a.end if b.start >= a.end else a.start - b.end if a.start >= b.end else -1


def _object_of(act: Found, objects: list[Found], clause: list[int], doc: Doc,
               windows: Windows) -> Found | None:
    """The nearest object in the act's clause (after it on a tie) that it can act
    on: what a pronoun stands for, and through a linker ("我账号里的动态", "my
    account's posts") the head noun."""
    def fits(o: Found) -> bool:
        return not o.pattern.rights or act.pattern.right in o.pattern.rights
    same_clause = [o for o in objects if clause[o.start] == clause[act.start]]
    near = [o for o in same_clause if 0 <= _gap(act, o) <= windows.object
            and (fits(o) or o.pattern.refers)]
    if not near:
        return None
    chosen = min(near, key=lambda o: (_gap(act, o), o.start < act.start))
    if chosen.pattern.refers:   # the pronoun, standing for what it refers to
        earlier = [o for o in objects if not o.pattern.refers
                   and 0 <= chosen.start - o.end <= windows.refer]
        if not earlier:
            meaning = replace(chosen.pattern, rights=RIGHTS, weight=UNRESOLVED_PRONOUN)
        else:
            referent = max(earlier, key=lambda o: o.end).pattern
            meaning = replace(referent, weight=referent.weight * chosen.pattern.weight)
        pronoun = Found(meaning, chosen.start, chosen.end)
        return pronoun if fits(pronoun) else None
    while chosen.start > act.start:
        heads = [o for o in same_clause if chosen.end <= o.start <= chosen.end + 4 and fits(o)
                 and any(t.lower_ in windows.linkers for t in doc[chosen.end:o.start])]
        if not heads:
            break
        chosen = heads[0]
    return chosen


def _cue(act_start: int, found: dict[str, list[Found]], clause: list[int],
         windows: Windows) -> str | None:
    """"negation", "howto" or None for an act starting at `act_start`."""
    def before(f: Found) -> bool:
        return f.start < act_start and clause[f.start] == clause[act_start]
    howtos = [f for f in found.get("howto", ()) if before(f)]
    negations = [f for f in found.get("negation", ()) if before(f) and act_start - f.end
                 <= (windows.negation if f.pattern.window is None else f.pattern.window)]
    if negations:
        last = max(negations, key=lambda f: f.start)
        # "I don't know how to delete my account" asks how, it does not refuse.
        if not any(h.start > last.start for h in howtos):
            return "negation"
    return "howto" if howtos else None


def collect(doc: Doc, found: dict[str, list[Found]], windows: Windows,
            location: float) -> list[Evidence]:
    """Evidence from one text whose matches are `found`, worth `location` (0..1)."""
    clause = _clauses(doc, found.get("break", []))
    near_misses = found.get("other", [])
    evidence = [Evidence("other", f.pattern.weight * location, topic=f.pattern.topic,
                         text=doc[f.start:f.end].text) for f in near_misses]
    requests = [Request(right, f.pattern.weight, f.start, f.end, f.start)
                for right in RIGHTS for f in found.get(right, ())]
    for act in found.get("act", ()):
        obj = _object_of(act, found.get("object", []), clause, doc, windows)
        if obj is None:
            continue
        weight = act.pattern.weight * obj.pattern.weight
        start, end = min(act.start, obj.start), max(act.end, obj.end)
        if obj.pattern.rights:
            requests.append(Request(act.pattern.right, weight, start, end, act.start))
        else:   # an act on a lookalike: deleting one post, changing the avatar
            evidence.append(Evidence("other", weight * location, topic=obj.pattern.topic,
                                     text=doc[start:end].text))
    kept: list[Request] = []
    # Overlapping requests for one right are one piece of evidence, the strongest.
    for request in sorted(requests, key=lambda r: -r.weight):
        if any(k.right == request.right and _gap(k, request) < 0 for k in kept):
            continue
        kept.append(request)
        if any(f.pattern.blocks and clause[f.start] == clause[request.start]
               and _gap(f, request) <= windows.block for f in near_misses):
            continue   # "remove my email from your mailing list": the near miss says it all
        cue = _cue(request.act_start, found, clause, windows)
        strength = request.weight * location * (HOWTO_FACTOR if cue == "howto" else 1.0)
        evidence.append(Evidence(request.right, strength, negated=cue == "negation",
                                 text=doc[request.start:request.end].text))
    return evidence

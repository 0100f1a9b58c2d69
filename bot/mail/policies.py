"""Email policies as the stdlib's, minus repeated work: header classes built once, parsed headers reused."""
from __future__ import annotations

from functools import lru_cache

from email.headerregistry import BaseHeader, HeaderRegistry
from email.policy import EmailPolicy, linesep_splitter

_MAX_REUSED = 2000   # longer values (rare) are parsed each time rather than kept
# Set and folded headers kept: enough for the few that repeat (parse trees are large), the rest churn.
_MAX_STORED = 256
_MAX_FOLDED = 256    # all forgotten at once when full
_FOLDED: dict[tuple, tuple[BaseHeader, str]] = {}


class _CachingRegistry(HeaderRegistry):
    """The stdlib makes a new header class (type()) for every header it parses: made once here."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[str, type] = {}

    def __getitem__(self, name: str) -> type:
        key = name.lower()
        found = self._classes.get(key)
        if found is None:
            found = self._classes[key] = super().__getitem__(name)
        return found


_REGISTRY = _CachingRegistry()


@lru_cache(maxsize=4096)
def _parsed_header(name: str, value: str) -> BaseHeader:
    return _REGISTRY(name, "".join(linesep_splitter.split(value)))


@lru_cache(maxsize=_MAX_STORED)
def _stored_header(name: str, value: str) -> BaseHeader:
    return _REGISTRY(name, value)


class _ReusingPolicy(EmailPolicy):
    """Reading a header parses it once: the parser alone asks for Content-Type a dozen times a
    message. Header objects are immutable strings, so one made earlier for the same name and
    value is as good as a new one."""

    def header_fetch_parse(self, name: str, value: str):
        if hasattr(value, "name") or len(value) > _MAX_REUSED:
            return super().header_fetch_parse(name, value)
        return _parsed_header(name, value)

    def header_store_parse(self, name: str, value):
        """Setting a header: the same name and value (our From, X-Loop, Content-Type...) parsed once."""
        if not isinstance(value, str) or hasattr(value, "name") or len(value) > _MAX_REUSED:
            return super().header_store_parse(name, value)
        if len(value.splitlines()) > 1:
            return super().header_store_parse(name, value)   # refused there, with its message
        return (name, _stored_header(name, value))

    def _fold(self, name: str, value, refold_binary: bool = False) -> str:
        """Writing a header: a header object reused above (our From, Content-Type...) is folded once
        per layout. The entry holds the object itself, so its id() cannot be taken by another."""
        if not hasattr(value, "name"):
            return super()._fold(name, value, refold_binary)
        key = (id(value), self.linesep, self.max_line_length, self.utf8)
        hit = _FOLDED.get(key)
        if hit is not None and hit[0] is value:
            return hit[1]
        if len(_FOLDED) >= _MAX_FOLDED:
            _FOLDED.clear()
        folded = value.fold(policy=self)
        _FOLDED[key] = (value, folded)
        return folded


DEFAULT = _ReusingPolicy(header_factory=_REGISTRY)                  # behaves as email.policy.default
SMTP = _ReusingPolicy(header_factory=_REGISTRY, linesep="\r\n")     # behaves as email.policy.SMTP

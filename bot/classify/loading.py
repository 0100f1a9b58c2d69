"""Choosing and building a classifier by name: the trained model or the pattern rules, now or on first use."""
from __future__ import annotations

import threading
from collections.abc import Callable

from bot.classify import Classification, Classifier, default_kind


def _rules(**options) -> Classifier:
    from bot.classify.rules import RuleClassifier
    return RuleClassifier(**options)


def _model(**options) -> Classifier:
    from bot.classify.model import TrainedClassifier
    return TrainedClassifier(**options)


# Name -> factory.
FACTORIES = {"rules": _rules, "model": _model}


def load_classifier(kind: str | None = None, **options) -> Classifier:
    """Build the classifier called `kind` (default: default_kind()); `options` go to its constructor."""
    kind = kind or default_kind()
    try:
        factory = FACTORIES[kind]
    except KeyError:
        raise ValueError(f"unknown classifier {kind!r}; known: {', '.join(FACTORIES)}") from None
    return factory(**options)


class LazyClassifier:
    """Builds its classifier when the first message is classified, once, whichever thread asks.

    Both classifiers need spaCy (a second of CPU to import) and a model or patterns to load: a process
    that never classifies (the console alone, a run that finds no new mail) never pays for them."""

    def __init__(self, build: Callable[[], Classifier]) -> None:
        self._build = build
        self._built: Classifier | None = None
        self._lock = threading.Lock()

    @property
    def built(self) -> Classifier:
        if self._built is not None:   # every message after the first: no lock on the hot path
            return self._built
        with self._lock:
            if self._built is None:
                self._built = self._build()
            return self._built

    def classify(self, subject: str, body: str) -> Classification:
        return self.built.classify(subject, body)

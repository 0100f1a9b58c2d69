"""Choosing and building a classifier by name: the trained model or the pattern rules."""
from __future__ import annotations

from bot.classify import Classifier, default_kind


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

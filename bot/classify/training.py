"""Train the request classifier from labelled examples, reproducibly (fixed seeds)."""

from __future__ import annotations

import logging
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy
import spacy
from spacy.training import Example as SpacyExample
from spacy.util import fix_random_seed, load_config, minibatch

from bot.classify import KINDS, PRECEDENCE
from bot.classify.calibration import Calibration
from bot.classify.dataset import HELDOUT_FILE, TRAIN_FILE, Example, read_examples
from bot.classify.model import MODEL_DIR, TrainedClassifier, prepare

CONFIG_FILE = Path(__file__).resolve().parents[2] / "classifiers" / "config.cfg"
COMPONENT = "textcat_multilabel"
# spaCy gives its logger a handler of its own, and the line also reaches ours at the root: each
# would print twice. Ours alone (masked, in the configured format) prints it.
logging.getLogger("spacy").handlers.clear()


@dataclass(frozen=True)
class TrainingReport:
    examples: int          # as written in the training file
    joined: int            # made up by joining two of them
    epochs: int
    seconds: float
    output: Path
    models: int = 1        # trained from successive seeds, weights averaged


def gold_scores(example: Example) -> dict[str, float]:
    return {kind: float(kind in example.labels) for kind in KINDS}


def joined_examples(examples: list[Example], count: int, rng: random.Random) -> list[Example]:
    """`count` new examples, each one example's text followed by another's, labels united.

    Without them a bag of words learns that marketing, refunds or bugs argue
    against a request, and misses the request in a mail that complains first.
    """
    joined = []
    for number in range(count):
        first, second = rng.sample(examples, 2)
        rights = set(first.labels + second.labels) - {"other"}
        labels = tuple(r for r in PRECEDENCE if r in rights) or ("other",)
        body = f"{first.body}\n\n{second.subject}\n{second.body}"
        joined.append(Example(f"joined-{number}", first.subject, body, labels[0], labels,
                              first.language))
    return joined


def train(train_file: Path | str = TRAIN_FILE, output_dir: Path | str = MODEL_DIR,
          config_file: Path | str = CONFIG_FILE, seed: int | None = None,
          overrides: dict | None = None) -> TrainingReport:
    """Build the pipeline that `config_file` describes, train it and save it to `output_dir`.

    `overrides` replaces config values by dotted name ({"training.max_epochs": 2}).
    """
    started = time.perf_counter()
    overrides = dict(overrides or {})
    if seed is not None:
        overrides["system.seed"] = seed
    config = load_config(config_file, overrides=overrides, interpolate=True)
    settings = config["training"]
    examples = read_examples(train_file)
    # One model a seed, their weights averaged: the bag of words is linear, so that is the average of
    # their scores, without the luck of one seed's example order (seeds 0-4 alone: held-out 0.910-0.921).
    models = [_fit(config, examples, settings["seed"] + offset) for offset in range(settings["soup"])]
    nlp = models[0]
    _average_weights([model.get_pipe(COMPONENT).model for model in models])

    # Write beside the old model and swap, so a failed run leaves it intact.
    output_dir = Path(output_dir)
    building = output_dir.with_name(output_dir.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    nlp.to_disk(building, exclude=["vocab"])
    shutil.rmtree(output_dir, ignore_errors=True)
    building.rename(output_dir)
    return TrainingReport(len(examples), settings["joined_examples"], settings["max_epochs"],
                          time.perf_counter() - started, output_dir, settings["soup"])


def _fit(config, examples: list[Example], seed: int) -> spacy.Language:
    """One model trained from `seed`, its weights the optimizer's running averages."""
    settings = config["training"]
    fix_random_seed(seed)
    rng = random.Random(seed)
    nlp = spacy.util.load_model_from_config(config, auto_fill=True, validate=True)
    textcat = nlp.get_pipe(COMPONENT)
    for kind in KINDS:
        textcat.add_label(kind)
    extra = joined_examples(examples, settings["joined_examples"], rng)
    data = [SpacyExample.from_dict(nlp.make_doc(prepare(e.subject, e.body)),
                                   {"cats": gold_scores(e)})
            for e in examples + extra]
    optimizer = spacy.registry.resolve({"optimizer": settings["optimizer"]})["optimizer"]
    nlp.initialize(lambda: data, sgd=optimizer)
    for _epoch in range(settings["max_epochs"]):
        rng.shuffle(data)
        for batch in minibatch(data, size=settings["batch_size"]):
            nlp.update(batch, drop=settings["dropout"], sgd=optimizer)
    for node in textcat.model.walk():   # keep the averages, as nlp.use_params(optimizer.averages) shows them
        for name in node.param_names:
            if (node.id, name) in optimizer.averages:
                node.set_param(name, optimizer.averages[(node.id, name)].copy())
    return nlp


def _average_weights(models: list) -> None:
    """Set the first model's parameters to the mean of all the models' (same architecture, same hashing)."""
    nodes = [list(model.walk()) for model in models]
    for i, node in enumerate(nodes[0]):
        for name in node.param_names:
            stack = [model_nodes[i].get_param(name) for model_nodes in nodes]
            node.set_param(name, numpy.mean(stack, axis=0).astype(stack[0].dtype))


def calibrate(model_dir: Path | str = MODEL_DIR, labelled_file: Path | str = HELDOUT_FILE, *, prepare) -> Path:
    """Fit the model's confidence map on labelled mail it never trained on; stored beside the model."""
    from bot.classify.batch import classify_messages, read_messages  # prepare: see batch.Prepare
    messages = list(read_messages(labelled_file, labelled=True))
    results = classify_messages(TrainedClassifier(model_dir, calibrated=False), messages, prepare=prepare)
    return Calibration.fit(results, [m.label for m in messages]).save(model_dir)

"""Commands for the request classifier: train it, classify a JSON Lines file, evaluate it."""
from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console

from bot.mail.text import classifier_input  # what intake feeds the classifier: offline reads the same

console = Console()
errors = Console(stderr=True)

KIND_HELP = "Classifier: model or rules (default: the trained model when there is one)."


def register(app: typer.Typer) -> None:
    """Add `train`, `calibrate`, `classify-file` and `eval` to the main command line."""
    app.command("train")(train)
    app.command("calibrate")(calibrate)
    app.command("classify-file")(classify_file)
    app.command("eval")(evaluate)


def _classifier(kind: str | None, model: Path | None):
    from bot.classify.loading import load_classifier
    options = {"model_path": model} if model else {}
    try:
        return load_classifier("model" if model and not kind else kind, **options)
    except (ValueError, OSError) as exc:
        errors.print(f"[red]cannot load the classifier:[/red] {exc}")
        raise typer.Exit(2)


def train(seed: int = typer.Option(None, "--seed", help="Random seed (default: the one in classifiers/config.cfg)."),
          output: Path = typer.Option(None, "--output", "-o", help="Where to write the model (default: classifiers/model)."),
          split: bool = typer.Option(True, "--split/--no-split",
                                     help="First re-split classifiers/data/source into train.jsonl and heldout.jsonl."),
          evaluate_heldout: bool = typer.Option(True, "--eval/--no-eval", help="Then score the held-out split.")) -> None:
    """Rebuild the trained classifier from classifiers/data (fixed seeds: same data, same model)."""
    from bot.classify import MODEL_DIR
    from bot.classify.dataset import HELDOUT_FILE, write_split
    from bot.classify.training import calibrate as calibrate_model, train as train_model
    if split:
        train_size, heldout_size, public_size = write_split()
        console.print(f"split: {train_size} training, {heldout_size} held-out examples, "
                      f"{public_size} in held-out public sources")
    report = train_model(output_dir=output or MODEL_DIR, seed=seed)
    console.print(f"trained on {report.examples} examples (+{report.joined} joined) for "
                  f"{report.epochs} epochs, {report.models} seeds averaged, in {report.seconds:.1f} s; "
                  f"model in {report.output}")
    console.print(f"confidence calibrated on {HELDOUT_FILE.name}: {calibrate_model(report.output, prepare=classifier_input)}")
    if evaluate_heldout:
        from bot.classify.batch import evaluate_file
        from bot.classify.evaluation import format_report
        from bot.classify.model import TrainedClassifier
        result = evaluate_file(TrainedClassifier(report.output), HELDOUT_FILE, prepare=classifier_input)
        console.print(f"\nheld-out split ({HELDOUT_FILE.name}):\n" + format_report(result), markup=False, highlight=False)


def calibrate(model: Path = typer.Option(None, "--model", help="A trained model directory (default: classifiers/model)."),
              labelled: Path = typer.Option(None, "--on", exists=True, dir_okay=False,
                                            help="Labelled JSON Lines never trained on (default: the held-out split).")) -> None:
    """Fit the model's confidence map (isotonic) so that of mails scored 0.9 about 90% are right."""
    from bot.classify import MODEL_DIR
    from bot.classify.dataset import HELDOUT_FILE
    from bot.classify.training import calibrate as calibrate_model
    console.print(f"wrote {calibrate_model(model or MODEL_DIR, labelled or HELDOUT_FILE, prepare=classifier_input)}")


def classify_file(in_file: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSON Lines: id, subject, body."),
                  out: Path = typer.Option(None, "--out", "-o", help="Output JSON Lines (default: standard output)."),
                  kind: str = typer.Option(None, "--classifier", help=KIND_HELP),
                  model: Path = typer.Option(None, "--model", help="A trained model directory.")) -> None:
    """Classify every message of IN_FILE: one line of id, label, labels, confidence, language each."""
    from bot.classify.batch import InputError, classify_file as run
    classifier = _classifier(kind, model)
    try:
        if out is None:
            count = run(classifier, in_file, sys.stdout, prepare=classifier_input)
        else:
            with open(out, "w", encoding="utf-8") as stream:
                count = run(classifier, in_file, stream, prepare=classifier_input)
    except InputError as exc:
        errors.print(f"[red]bad input:[/red] {exc}", highlight=False)
        raise typer.Exit(2)
    if out is not None:
        console.print(f"classified {count} messages into {out}")


def evaluate(labelled: Path = typer.Argument(..., exists=True, dir_okay=False, help="JSON Lines: id, subject, body, label."),
             kind: str = typer.Option(None, "--classifier", help=KIND_HELP),
             model: Path = typer.Option(None, "--model", help="A trained model directory.")) -> None:
    """Score the classifier on a labelled file: P/R/F1 per class, macro-F1, accuracy per language, confusion."""
    from bot.classify.batch import InputError, evaluate_file
    from bot.classify.evaluation import format_report
    classifier = _classifier(kind, model)
    try:
        result = evaluate_file(classifier, labelled, prepare=classifier_input)
    except InputError as exc:
        errors.print(f"[red]bad input:[/red] {exc}", highlight=False)
        raise typer.Exit(2)
    console.print(format_report(result), markup=False, highlight=False)

"""Where Huashu's files are: the one place for every path the runtime reads or writes.

The corpora (``corpora/``: lexicon, categories, scorecard, handbook phrases, labelled sets) and
the trained artefacts (``models/trigger``, ``models/sentiment``) are package data, found through
``importlib.resources``, so a source checkout, an editable install and a built wheel installed
into any environment all read the same files (``pyproject.toml`` lists them as package data).

Caches (the converted base encoder, the compiled lexicon and jieba dictionary) go to, in order:
the directory the caller passes (``HUASHU_CACHE`` through the configuration), ``.cache/huashu``
in a source checkout (what ``make setup`` fills), else the user's cache directory
(``$XDG_CACHE_HOME/huashu``, by default ``~/.cache/huashu``), never the working directory.

This module imports nothing from Huashu, so every layer may use it.
"""
from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path


def _package_dir(package: str) -> Path:
    """The folder of an installed package (wheels are installed unpacked, so it is a real path)."""
    return Path(str(files(package)))


CORPORA = _package_dir("corpora")
LEXICON_DIR = CORPORA / "lexicon"
HANDBOOK_DIR = LEXICON_DIR / "handbook"  # one <category>.yaml per category
CHECKS_FILE = LEXICON_DIR / "checks.yaml"
MODEL_SPANS_FILE = LEXICON_DIR / "model_spans.yaml"  # what a model-only span must hold (analyzer.span_rules)
CATEGORIES_FILE = CORPORA / "categories.yaml"
SCORECARD_FILE = CORPORA / "scorecard.yaml"
PRIVACY_FILE = CORPORA / "privacy.yaml"  # what PII masking recognises
HANDBOOK_PHRASES = CORPORA / "handbook_phrases.yaml"
TRANSFORMS_FILE = CORPORA / "rewrites" / "transforms.yaml"  # rewrites by category (analyzer.rewriter)
DEV_SET = CORPORA / "dev" / "dev.jsonl"
CLASSIFIER_DATA = CORPORA / "classifier"  # *.jsonl, the trigger classifier's labelled data
SENTIMENT_DATA = CORPORA / "sentiment" / "customer.jsonl"
SENTIMENT_REAL_DATA = CORPORA / "sentiment" / "part-real.jsonl"  # real-register lines (train and dev splits)

MODELS = _package_dir("models")
TRIGGER_DIR = MODELS / "trigger"  # the trigger classifier's artefacts
SENTIMENT_DIR = MODELS / "sentiment"  # the customer-sentiment model's artefacts


def source_checkout() -> Path | None:
    """The repository root when Huashu runs from a source checkout (editable install), else None."""
    root = Path(__file__).resolve().parent.parent
    try:
        head = (root / "pyproject.toml").read_text(encoding="utf-8")[:2000]
    except OSError:
        return None
    return root if 'name = "huashu"' in head else None


def default_cache_dir() -> Path:
    """``.cache/huashu`` in a source checkout, else the user's cache directory."""
    root = source_checkout()
    if root is not None:
        return root / ".cache" / "huashu"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "huashu"


def read_yaml(source):
    """A YAML document (a path, a string or an open file) read by libyaml's safe loader when
    PyYAML was built with it (~10x faster than the pure-Python one: the rewrite transforms alone
    took 0.3 s of a cold ``huashu check``), else by the pure-Python safe loader; both accept
    exactly the same safe YAML."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    if isinstance(source, Path):
        source = source.read_text(encoding="utf-8")
    return yaml.load(source, Loader=loader)  # noqa: S506 - a safe loader

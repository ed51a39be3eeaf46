"""The classifier's labelled data: ``corpora/classifier/*.jsonl``.

One agent utterance per line: ``id, text, label, kind, script, style, domain, group, split``
(``split`` ∈ train/dev/test, assigned per paraphrase ``group``). ``train`` trains, ``dev``
calibrates and chooses thresholds, ``test`` reports; ``corpora/dev/dev.jsonl`` is a second
held-out set, for reporting only (never trained or tuned on).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from analyzer.evaluate import Item, labelled_records
from analyzer.model import HuashuError
from analyzer.normalize import normalize
from analyzer.resources import CLASSIFIER_DATA as CLASSIFIER_DIR

SPLITS = ("train", "dev", "test")


@dataclass(frozen=True)
class Example:
    id: str
    text: str
    label: str
    kind: str
    script: str
    style: str
    domain: str
    group: str
    split: str
    file: str
    span: str = ""  # the trigger's words in ``text``, where known (part D and E lines, verdicts)

    def item(self) -> Item:
        return Item(self.id, self.text, self.label, self.kind, self.script, self.style)


def corpus_files(folder: str | Path | None = None) -> list[Path]:
    return sorted(Path(folder or CLASSIFIER_DIR).glob("*.jsonl"))


def load_corpus(files: list[str | Path] | None = None) -> list[Example]:
    """Every line of ``files`` (default: all of ``corpora/classifier/``), checked; duplicates of a
    text keep their first occurrence."""
    paths = [Path(f) for f in files] if files else corpus_files()
    if not paths:
        raise HuashuError(f"{CLASSIFIER_DIR}: 没有训练数据 / no labelled data (*.jsonl)")
    out: list[Example] = []
    seen: set[str] = set()
    for path in paths:
        for n, r in labelled_records(path):
            # the models read text as the lexicon sees it (analyzer.normalize; idempotent)
            ex = Example(str(r.get("id", f"{path.stem}-{n}")), normalize(r["text"]).text, r["label"], r.get("kind", ""),
                         r.get("script", ""), r.get("style", ""), r.get("domain", ""),
                         str(r.get("group", r.get("id", n))), r.get("split", "train"), path.name,
                         normalize(r["span"]).text if isinstance(r.get("span"), str) else "")
            if ex.split not in SPLITS:
                raise HuashuError(f"{path}:{n}: split 须为 train/dev/test / unknown split {ex.split!r}")
            if not ex.text.strip() or ex.text in seen:
                continue
            seen.add(ex.text)
            out.append(ex)
    return out


def split(examples: list[Example], name: str) -> list[Example]:
    return [e for e in examples if e.split == name]

"""``huashu eval --real DIR``: the analyzer on real service turns (the benchmark of ``corpora/real/``).

The repository keeps references only (``corpora/real/samples/*.jsonl``: ref, sha1, part, sample;
``corpora/real/labels/agent*.jsonl`` and ``customer*.jsonl``: the labels); the text comes from the
local cache built by ``corpora/real/extract.py`` (``DIR/turns.jsonl``, default ``$HUASHU_REAL_CACHE``
or ``.cache/real``). Labels and cache text are joined by ``ref`` and must agree on ``sha1``; a turn
whose label has an ``issue`` (wrong_role, not_judgeable) is left out and counted.

Agent turns, per system (the lexicon alone; the lexicon with the classifier, as fused today; a
previous classifier artefact), for all turns, per sample (random / keyword), per style and per
source/style. A turn is *flagged* when the system gives it any flag:

- precision: flagged turns labelled clear or borderline / flagged turns; strict precision counts
  only clear;
- clear recall: clear turns flagged / clear turns; recall with borderline: the same over clear and
  borderline turns;
- false-flag rate: flagged / random-sample turns labelled none (keyword turns are not random);
- category accuracy: true-positive turns where a flag's category is one of the labelled categories;
- spans: per labelled span of a true-positive turn, the best overlap (intersection over union of
  the code-point ranges) with any of the system's flags: exact (1.0) and at least half (≥ 0.5).

Every share comes with its 95% Wilson interval and its ``k/n``.

Customer turns, per sentiment model (baseline, fine-tuned): macro-F1 over negative / neutral /
positive (labels with neither gold nor predicted turns in a group are left out of the mean) and
anger F1, each with a 95% percentile bootstrap interval (1,000 resamples of the turns, fixed seed),
and their components (per-label and anger precision / recall) with Wilson intervals.

The ``test`` part is read once per model release; error analysis uses ``dev``.
"""
from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .model import AGENT, CUSTOMER, HuashuError
from .resources import CORPORA

REAL_DATA = CORPORA / "real"
PARTS = ("dev", "test", "all")
POSITIVE = ("clear", "borderline")
LABELS = ("negative", "neutral", "positive")
BOOTSTRAP = 1000
TITLES = {"lexicon": "lexicon", "fused": "lexicon+model", "previous": "previous model"}


def default_cache() -> Path:
    """The turn cache: ``HUASHU_REAL_CACHE`` (``Config.real_cache``), else ``.cache/real``."""
    from .config import Config

    return Path(Config().real_cache)


# -- loading -------------------------------------------------------------------------------------
@dataclass
class Turn:
    ref: str
    sample: str
    source: str
    style: str
    text: str
    context: str | None
    label: dict[str, Any]

    @property
    def groups(self) -> list[str]:
        kind = self.sample.split("-", 1)[1]  # agent-random → random
        return ["all", f"sample={kind}", f"style={self.style}", f"{self.source}/{self.style}"]


@dataclass
class Benchmark:
    part: str
    agent: list[Turn] = field(default_factory=list)
    customer: list[Turn] = field(default_factory=list)
    left_out: dict[str, Counter] = field(default_factory=lambda: {"agent": Counter(), "customer": Counter()})
    unlabelled: Counter = field(default_factory=Counter)


def _jsonl(path: Path) -> list[tuple[int, dict[str, Any]]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise HuashuError(f"{path}: 无法读取 / cannot read: {exc.strerror}") from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise HuashuError(f"{path}:{n}: 不是有效的 JSON / invalid JSON: {exc.msg}") from None
        if not isinstance(record, dict) or not isinstance(record.get("ref"), str):
            raise HuashuError(f"{path}:{n}: 须为含 ref 的 JSON 对象 / needs a JSON object with a ref")
        out.append((n, record))
    return out


def load(cache: str | Path, part: str = "dev", data: str | Path | None = None) -> Benchmark:
    """The sampled turns of ``part`` with their labels and their text from the cache."""
    if part not in PARTS:
        raise HuashuError(f"未知的部分 / unknown part {part!r} (one of {', '.join(PARTS)})")
    cache, data = Path(cache), Path(data) if data else REAL_DATA
    turns_file = cache / "turns.jsonl"
    if not turns_file.is_file():
        raise HuashuError(f"{turns_file}: 缺少缓存 / no cache: build it with corpora/real/extract.py "
                          f"(see corpora/real/README.md)")
    sampled: dict[str, tuple[str, str, str]] = {}  # ref -> (sha1, sample, where)
    for path in sorted((data / "samples").glob("*.jsonl")):
        if path.name.startswith("second-"):
            continue  # the refs labelled twice (agreement), not a sample of their own
        for n, r in _jsonl(path):
            if part in ("all", r.get("part")):
                sampled[r["ref"]] = (r.get("sha1"), r.get("sample") or path.stem, f"{path}:{n}")
    if not sampled:
        raise HuashuError(f"{data / 'samples'}: 没有样本 / no sampled turns for part {part!r}")
    labels: dict[str, tuple[dict[str, Any], str]] = {}
    for path in sorted((data / "labels").glob("*.jsonl")):
        if not path.name.startswith(("agent", "customer")):
            continue  # second-*.jsonl: the second labeller, for agreement only
        for n, r in _jsonl(path):
            where = f"{path}:{n}"
            if r["ref"] in labels:
                raise HuashuError(f"{where}: {r['ref']} 重复标注 / labelled twice (also {labels[r['ref']][1]})")
            labels[r["ref"]] = (r, where)
    bench = Benchmark(part)
    with turns_file.open(encoding="utf-8") as stream:
        for n, line in enumerate(stream, 1):
            # the ref comes first in every line; parse only the sampled ones
            ref = line[9:line.find('"', 9)] if line.startswith('{"ref": "') else json.loads(line).get("ref")
            if ref not in sampled:
                continue
            t = json.loads(line)
            sha1, sample, where = sampled.pop(ref)
            if t["sha1"] != sha1:
                raise HuashuError(f"{where}: {ref}: sha1 {sha1} ≠ 缓存 / cache {t['sha1']} ({turns_file}:{n}): "
                                  f"样本与缓存不符，请重建缓存 / the sample and the cache disagree: rebuild the cache")
            label, lwhere = labels.get(ref, (None, ""))
            if label is None:
                bench.unlabelled[sample] += 1
                continue
            if label.get("sha1") != t["sha1"]:
                raise HuashuError(f"{lwhere}: {ref}: sha1 {label.get('sha1')} ≠ 缓存 / cache {t['sha1']}: "
                                  f"标注与缓存文本不符 / the label does not belong to the cached text")
            role = "agent" if t["role"] == AGENT else "customer"
            if not sample.startswith(role):
                raise HuashuError(f"{lwhere}: {ref}: 样本 {sample} 与角色 {t['role']} 不符 / sample and role disagree")
            if label.get("issue"):
                bench.left_out[role][label["issue"]] += 1
                continue
            turn = Turn(ref, sample, t["source"], t["style"], t["text"], t.get("context"), label)
            if role == "agent":
                _check_spans(turn, lwhere)
                bench.agent.append(turn)
            else:
                if label.get("label") not in LABELS or not isinstance(label.get("anger"), bool):
                    raise HuashuError(f"{lwhere}: {ref}: 须有 label 和 anger / needs label (negative|neutral|positive) and anger")
                bench.customer.append(turn)
    if sampled:
        ref, (_, _, where) = next(iter(sampled.items()))
        raise HuashuError(f"{where}: {ref}: 缓存中没有此轮 / not in the cache {turns_file} "
                          f"({len(sampled)} sampled turns missing): rebuild the cache")
    return bench


def _check_spans(turn: Turn, where: str) -> None:
    label = turn.label
    if label.get("grade") not in (*POSITIVE, "none"):
        raise HuashuError(f"{where}: {turn.ref}: grade 须为 clear|borderline|none / grade must be clear, borderline or none")
    for f in label.get("flags") or []:
        if not (isinstance(f.get("start"), int) and isinstance(f.get("end"), int)
                and 0 <= f["start"] < f["end"] <= len(turn.text)):
            raise HuashuError(f"{where}: {turn.ref}: 片段越界 / span {f.get('start')}–{f.get('end')} is not "
                              f"inside the text ({len(turn.text)} characters)")


# -- statistics ----------------------------------------------------------------------------------
def wilson(k: int, n: int, z: float = 1.96) -> dict[str, Any]:
    """``k/n`` with its 95% Wilson score interval (value and bounds None when ``n`` is 0)."""
    if n == 0:
        return {"value": None, "low": None, "high": None, "k": 0, "n": 0}
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return {"value": round(p, 4), "low": round(max(0.0, centre - half), 4),
            "high": round(min(1.0, centre + half), 4), "k": k, "n": n}


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0


def _iou(a0: int, a1: int, b0: int, b1: int) -> float:
    inter = max(0, min(a1, b1) - max(a0, b0))
    return inter / (max(a1, b1) - min(a0, b0))


# -- agent turns ---------------------------------------------------------------------------------
def agent_scores(turns: Sequence[Turn], predicted: Sequence[Sequence[Any]]) -> dict[str, dict[str, Any]]:
    """Per group (all, sample, style, source/style): the shares described in the module doc.
    ``predicted[i]`` is the system's flags (with ``start``, ``end``, ``category``) for ``turns[i]``."""
    counts: dict[str, Counter] = {}
    for turn, flags in zip(turns, predicted):
        grade = turn.label["grade"]
        flagged = bool(flags)
        c = Counter()
        c["turns"] += 1
        c[grade] += 1
        c["flagged"] += flagged
        if flagged:
            c["flagged_positive"] += grade in POSITIVE
            c["flagged_clear"] += grade == "clear"
        if grade == "clear":
            c["clear_found"] += flagged
        if grade in POSITIVE:
            c["positive_found"] += flagged
        if grade == "none" and turn.sample.endswith("random"):
            c["random_none"] += 1
            c["random_none_flagged"] += flagged
        if flagged and grade in POSITIVE:
            gold = turn.label.get("flags") or []
            c["category_right"] += bool({f["category"] for f in gold} & {f.category for f in flags})
            for g in gold:
                best = max(_iou(f.start, f.end, g["start"], g["end"]) for f in flags)
                c["spans"] += 1
                c["span_exact"] += best == 1.0
                c["span_half"] += best >= 0.5
        for group in turn.groups:
            counts.setdefault(group, Counter()).update(c)
    return {group: _agent_row(c) for group, c in sorted(counts.items(), key=lambda kv: _group_order(kv[0]))}


def veto_scores(turns: Sequence[Turn], lexicon: Sequence[Sequence[Any]],
                fused: Sequence[Sequence[Any]]) -> dict[str, Any]:
    """The model's vetoes: lexicon flags the fused system dropped (no fused flag overlaps them).
    Precision = vetoed flags on turns labelled none / vetoed flags; the vetoed flags on turns
    labelled clear or borderline were real triggers the model removed."""
    vetoed = right = 0
    for turn, lex, fus in zip(turns, lexicon, fused):
        for f in lex:
            if not any(g.start < f.end and f.start < g.end for g in fus):
                vetoed += 1
                right += turn.label["grade"] == "none"
    return {"vetoed": vetoed, "precision": wilson(right, vetoed)}


def _group_order(group: str) -> tuple[int, str]:
    return ({"all": 0}.get(group, 1 if group.startswith("sample=") else 2 if group.startswith("style=") else 3), group)


def _agent_row(c: Counter) -> dict[str, Any]:
    return {
        "turns": c["turns"], "clear": c["clear"], "borderline": c["borderline"], "none": c["none"],
        "flagged": c["flagged"],
        "precision": wilson(c["flagged_positive"], c["flagged"]),
        "strict_precision": wilson(c["flagged_clear"], c["flagged"]),
        "clear_recall": wilson(c["clear_found"], c["clear"]),
        "recall_with_borderline": wilson(c["positive_found"], c["clear"] + c["borderline"]),
        "false_flag_rate": wilson(c["random_none_flagged"], c["random_none"]),
        "category_accuracy": wilson(c["category_right"], c["flagged_positive"]),
        "span_exact": wilson(c["span_exact"], c["spans"]),
        "span_half": wilson(c["span_half"], c["spans"]),
    }


# -- customer turns ------------------------------------------------------------------------------
def _sentiment_figures(gold: Sequence[tuple[str, bool]], pred: Sequence[tuple[str, bool]]) -> tuple[float | None, float | None]:
    """(macro-F1 over the labels present in gold or prediction, anger F1 or None without anger)."""
    f1s = []
    for label in LABELS:
        tp = sum(g[0] == label and p[0] == label for g, p in zip(gold, pred))
        fp = sum(g[0] != label and p[0] == label for g, p in zip(gold, pred))
        fn = sum(g[0] == label and p[0] != label for g, p in zip(gold, pred))
        if tp + fp + fn:
            f1s.append(_f1(tp, fp, fn))
    tp = sum(g[1] and p[1] for g, p in zip(gold, pred))
    fp = sum(not g[1] and p[1] for g, p in zip(gold, pred))
    fn = sum(g[1] and not p[1] for g, p in zip(gold, pred))
    return (sum(f1s) / len(f1s) if f1s else None), (_f1(tp, fp, fn) if tp + fp + fn else None)


def _bootstrap(gold, pred, seed: str) -> tuple[list[float | None], list[float | None]]:
    rng = random.Random(seed)
    n = len(gold)
    macro, anger = [], []
    for _ in range(BOOTSTRAP):
        idx = [rng.randrange(n) for _ in range(n)]
        m, a = _sentiment_figures([gold[i] for i in idx], [pred[i] for i in idx])
        macro.append(m)
        anger.append(a)

    def interval(values: list[float | None]) -> list[float | None]:
        v = sorted(x for x in values if x is not None)
        if not v:
            return [None, None]
        return [round(v[int(0.025 * (len(v) - 1))], 4), round(v[int(math.ceil(0.975 * (len(v) - 1)))], 4)]

    return interval(macro), interval(anger)


def customer_scores(turns: Sequence[Turn], predicted: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per group: macro-F1 and anger F1 with bootstrap intervals, and their components."""
    groups: dict[str, list[int]] = {}
    for i, turn in enumerate(turns):
        for group in turn.groups:
            groups.setdefault(group, []).append(i)
    out = {}
    for group in sorted(groups, key=_group_order):
        idx = groups[group]
        gold = [(turns[i].label["label"], turns[i].label["anger"]) for i in idx]
        pred = [(p["label"], bool(p["anger"])) if p else ("neutral", False) for p in (predicted[i] for i in idx)]
        macro, anger = _sentiment_figures(gold, pred)
        macro_ci, anger_ci = _bootstrap(gold, pred, f"20261203:{group}")
        row: dict[str, Any] = {
            "turns": len(idx),
            "macro_f1": {"value": None if macro is None else round(macro, 4), "interval": macro_ci},
            "anger_f1": {"value": None if anger is None else round(anger, 4), "interval": anger_ci},
            "anger_precision": wilson(sum(g[1] and p[1] for g, p in zip(gold, pred)), sum(p[1] for p in pred)),
            "anger_recall": wilson(sum(g[1] and p[1] for g, p in zip(gold, pred)), sum(g[1] for g in gold)),
            "labels": {},
        }
        for label in LABELS:
            tp = sum(g[0] == label and p[0] == label for g, p in zip(gold, pred))
            row["labels"][label] = {
                "gold": sum(g[0] == label for g in gold),
                "precision": wilson(tp, sum(p[0] == label for p in pred)),
                "recall": wilson(tp, sum(g[0] == label for g in gold)),
            }
        out[group] = row
    return out


# -- running -------------------------------------------------------------------------------------
def flags_of(pipeline, turns: Sequence[Turn], *, context: bool, batch: int = 256) -> list[list[Any]]:
    """The pipeline's flags for each agent turn (``Pipeline.check``), with or without the customer's
    previous turn as context."""
    from .pipeline import Utterance

    out: list[list[Any]] = []
    for i in range(0, len(turns), batch):
        chunk = [Utterance(t.text, AGENT, t.context if context else None) for t in turns[i:i + batch]]
        out.extend(r.flags for r in pipeline.check(chunk))
    return out


def moods_of(pipeline, turns: Sequence[Turn], *, context: bool, batch: int = 256) -> list[dict[str, Any]]:
    from .pipeline import Utterance

    out: list[dict[str, Any]] = []
    for i in range(0, len(turns), batch):
        chunk = [Utterance(t.text, CUSTOMER, t.context if context else None) for t in turns[i:i + batch]]
        out.extend(r.sentiment for r in pipeline.check(chunk))
    return out


def evaluate_real(bench: Benchmark, flag_systems: dict[str, Any], sentiment_systems: dict[str, Any], *,
                  context: bool = True, unavailable: dict[str, str] | None = None,
                  progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Every system on the benchmark: ``flag_systems`` and ``sentiment_systems`` map a name to a
    pipeline (anything with ``check([Utterance])``)."""
    result: dict[str, Any] = {
        "part": bench.part, "context": context,
        "agent": {"turns": len(bench.agent), "left_out": dict(bench.left_out["agent"]),
                  "unlabelled": {k: v for k, v in bench.unlabelled.items() if k.startswith("agent")},
                  "systems": {}},
        "customer": {"turns": len(bench.customer), "left_out": dict(bench.left_out["customer"]),
                     "unlabelled": {k: v for k, v in bench.unlabelled.items() if k.startswith("customer")},
                     "models": {}},
        "unavailable": dict(unavailable or {}),
    }
    flags: dict[str, list[list[Any]]] = {}
    for name, pipeline in flag_systems.items():
        if progress:
            progress(f"{name}: {len(bench.agent)} agent turns")
        flags[name] = flags_of(pipeline, bench.agent, context=context)
        result["agent"]["systems"][name] = agent_scores(bench.agent, flags[name])
    if "lexicon" in flags:
        result["agent"]["vetoes"] = {name: veto_scores(bench.agent, flags["lexicon"], fused)
                                     for name, fused in flags.items() if name != "lexicon"}
    for name, pipeline in sentiment_systems.items():
        if progress:
            progress(f"sentiment {name}: {len(bench.customer)} customer turns")
        moods = moods_of(pipeline, bench.customer, context=context)
        result["customer"]["models"][name] = customer_scores(bench.customer, moods)
    return result


def build_systems(config, *, model: bool, previous: str | None) -> tuple[dict, dict, dict[str, str]]:
    """The pipelines to compare: flags from the lexicon alone, the fused lexicon + classifier and a
    previous classifier artefact; sentiment from the baseline and the fine-tuned model. Without
    ``model`` only the lexicon and the baseline sentiment (no torch)."""
    from .pipeline import build
    from .sentiment import SentimentUnavailable

    flag_systems = {"lexicon": build(config.with_(model="off", sentiment="none"))}
    unavailable: dict[str, str] = {}
    if model:
        flag_systems["fused"] = build(config.with_(model="on", sentiment="none"))
    if previous:
        if not Path(previous).is_dir():
            raise HuashuError(f"{previous}: 不是模型目录 / not a model folder (like models/trigger)")
        flag_systems["previous"] = build(config.with_(model="on", model_dir=str(previous), sentiment="none"))
    sentiment_systems = {}
    for kind in ("baseline", "finetuned") if model else ("baseline",):
        try:
            sentiment_systems[kind] = build(config.with_(model="off", sentiment=kind))
        except (SentimentUnavailable, HuashuError) as exc:
            unavailable[f"sentiment {kind}"] = str(exc)
    return flag_systems, sentiment_systems, unavailable


def run(args, config) -> dict[str, Any]:
    """``huashu eval --real``: load, build, evaluate."""
    import sys

    cache = Path(args.real) if args.real else default_cache()
    bench = load(cache, args.part, getattr(args, "real_data", None))
    flag_systems, sentiment_systems, unavailable = build_systems(
        config, model=not args.no_model and config.model != "off", previous=args.previous_model)
    result = evaluate_real(bench, flag_systems, sentiment_systems, context=args.context, unavailable=unavailable,
                           progress=lambda msg: print(f"huashu eval --real: {msg}", file=sys.stderr, flush=True))
    result["cache"] = str(cache)
    return result


# -- text output ---------------------------------------------------------------------------------
AGENT_ROWS = (
    ("precision", "precision (clear+borderline)"),
    ("strict_precision", "strict precision (clear)"),
    ("clear_recall", "clear recall"),
    ("recall_with_borderline", "recall with borderline"),
    ("false_flag_rate", "false flags (random none)"),
    ("category_accuracy", "category accuracy (TP)"),
    ("span_exact", "span exact"),
    ("span_half", "span overlap >= 50%"),
)


def _cell(w: dict[str, Any]) -> str:
    if w["value"] is None:
        return f"{'-':>5} {'':13} {'0/0':>9}"
    return f"{w['value']:.3f} [{w['low']:.3f},{w['high']:.3f}] {w['k']:>4}/{w['n']:<4}"


def _counts(d: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(d.items())) or "0"


def format_real(result: dict[str, Any]) -> str:
    agent, customer = result["agent"], result["customer"]
    lines = [
        f"真实语料评测 / real-text evaluation — part {result['part']}"
        + (" (test: read once per model release)" if result["part"] != "dev" else ""),
        f"context: {'the previous customer turn is passed' if result['context'] else 'not passed'} "
        f"(the classifier ignores it today: compare with --context / --no-context)",
        f"agent turns: {agent['turns']} judged; left out (label issue): {_counts(agent['left_out'])}; "
        f"not yet labelled: {_counts(agent['unlabelled'])}",
    ]
    for what, why in result["unavailable"].items():
        lines.append(f"unavailable: {what}: {why}")
    names = list(agent["systems"])
    width = 30
    if names:
        first = agent["systems"][names[0]]
        header = f"{'':<30} | " + " | ".join(f"{TITLES.get(n, n):^{width}}" for n in names)
        for group, row in first.items():
            lines += ["", f"[{group}] {row['turns']} turns: clear {row['clear']}, borderline {row['borderline']}, "
                          f"none {row['none']}; flagged " + ", ".join(
                              f"{TITLES.get(n, n)} {agent['systems'][n][group]['flagged']}" for n in names),
                      header, "-" * len(header)]
            for key, title in AGENT_ROWS:
                lines.append(f"{title:<30} | " + " | ".join(
                    f"{_cell(agent['systems'][n][group][key]):<{width}}" for n in names))
    for name, v in agent.get("vetoes", {}).items():
        lines.append(f"veto by {TITLES.get(name, name)}: {v['vetoed']} lexicon flags dropped; precision "
                     f"(dropped on turns labelled none) {_cell(v['precision'])}")
    lines += ["", f"customer turns: {customer['turns']} judged; left out (label issue): "
                  f"{_counts(customer['left_out'])}; not yet labelled: {_counts(customer['unlabelled'])}"]
    models = list(customer["models"])
    if models:
        head = f"{'group':<18} {'n':>4} | " + " | ".join(
            f"{m + ' macro-F1':^22} {m + ' anger F1':^22}" for m in models)
        lines += [head, "-" * len(head)]

        def ci(x: dict[str, Any]) -> str:
            if x["value"] is None:
                return f"{'-':^22}"
            return f"{x['value']:.3f} [{x['interval'][0]:.3f},{x['interval'][1]:.3f}]".center(22)

        for group, row in customer["models"][models[0]].items():
            lines.append(f"{group:<18} {row['turns']:>4} | " + " | ".join(
                f"{ci(customer['models'][m][group]['macro_f1'])} {ci(customer['models'][m][group]['anger_f1'])}"
                for m in models))
        lines += ["", "components (all customer turns; Wilson 95%):"]
        for m in models:
            row = customer["models"][m]["all"]
            lines.append(f"  {m}: anger precision {_cell(row['anger_precision'])}  recall {_cell(row['anger_recall'])}")
            for label, c in row["labels"].items():
                lines.append(f"  {m}: {label:<8} (gold {c['gold']:>3}) precision {_cell(c['precision'])}  "
                             f"recall {_cell(c['recall'])}")
    return "\n".join(lines)

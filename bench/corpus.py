"""A deterministic synthetic corpus of agent utterances, shaped like real service traffic.

Most utterances are clean service talk; about one in five carries a sentence that has (or
paraphrases) a handbook trigger. Styles and scripts follow what Huashu meets in practice:
formal written replies, chat (亲～, emoji, no full stops), ASR transcripts (no punctuation,
fillers, spaces between phrases), Traditional characters, full-width ASCII.

Building blocks, all from the repository:
- clean: the service lines below, the dev set's neutral sentences and hard negatives
  (``corpora/dev/dev.jsonl``, label ``none``), and every lexicon entry's counter-examples;
- trigger: the dev set's positive sentences (verbatim and paraphrased), the handbook
  sentences (``corpora/handbook_phrases.yaml``) and every lexicon entry's examples.

The same ``n`` and ``seed`` give the same corpus on every machine (``random.Random`` and
OpenCC's fixed dictionaries).

    python bench/corpus.py --n 200000 --out corpus.jsonl   # write it out (one JSON per line)
"""
from __future__ import annotations

import argparse
import json
import random
import sys
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

SEED = 20261122
TRIGGER_SHARE = 0.2
STYLE_SHARES = {"formal": 0.6, "chat": 0.2, "asr": 0.2}
TRADITIONAL_SHARE = 0.15
FULL_WIDTH_SHARE = 0.03

# Clean agent lines of the kind that make up most of a call.
SERVICE_LINES = [
    "您好，这里是客服中心，请问有什么可以帮您？", "好的，我这边帮您查询一下。", "请您稍候。",
    "感谢您的耐心等待。", "您的订单已经发货了，预计明天送达。", "还有其他可以帮您的吗？",
    "让您久等了，非常抱歉。", "我已经帮您提交了加急处理。", "请问您的手机号码是多少？",
    "麻烦您提供一下订单号，我帮您核实。", "这个问题我记下了，稍后给您回电。", "感谢您的来电，祝您生活愉快。",
    "您反映的情况我非常理解。", "我马上为您登记退款申请。", "退款会在三到五个工作日内原路退回。",
    "我帮您看一下物流信息。", "快递目前在派送中，请您留意电话。", "这边已经为您升级处理了。",
    "您的积分已经到账，可以在会员中心查看。", "我们会尽快安排师傅上门维修。", "对不起，给您添麻烦了。",
    "请您放心，我们一定会给您一个满意的答复。", "您看这样处理可以吗？", "我再跟您确认一下地址。",
    "这个套餐每月包含三十G流量。", "您的账单明细我已经发到您的邮箱了。", "系统显示您的工单已经受理。",
    "好的，明白了。", "没问题，我来帮您处理。", "谢谢您的理解和支持。", "稍等，我转接一下技术同事。",
    "您的预约已经成功，时间是周三上午十点。", "发票会随包裹一起寄出。", "为了您的账户安全，请不要透露验证码。",
]
CHAT_OPENERS = ["亲，", "亲亲，", "亲 ", "您好呀～", "在的亲，", ""]
CHAT_ENDINGS = ["哦～", "呢", "哈", " 😊", " 🙏", "～", "~", "!", ""]
ASR_FILLERS = ["嗯", "嗯嗯", "那个", "就是", "呃", "然后", "对"]
_PUNCT = "，。！？；、,.!?;"


@dataclass(frozen=True)
class Utterance:
    text: str
    trigger_source: bool  # built around a sentence from the trigger pool (it may still be clean)
    style: str  # formal, chat, asr
    script: str  # simplified, traditional
    full_width: bool


def pools() -> tuple[list[str], list[str]]:
    """(clean sentences, trigger sentences) from the repository's data."""
    from analyzer.evaluate import load_dataset, load_handbook_phrases
    from analyzer.lexicon import load_lexicon

    clean, trigger = list(SERVICE_LINES), []
    for item in load_dataset():
        (clean if item.label == "none" else trigger).append(item.text)
    for rows in load_handbook_phrases().values():
        trigger += [row["sentence"] for row in rows or []]
    for entry in load_lexicon(()).entries:
        trigger += [ex.text for ex in entry.examples]
        clean += list(entry.counter_examples)
    return clean, trigger


def _chat(text: str, rng: random.Random) -> str:
    text = text.replace("。", rng.choice(["", " ", "～", "~"])).replace("，", rng.choice(["，", " ", ","]))
    return rng.choice(CHAT_OPENERS) + text.strip() + rng.choice(CHAT_ENDINGS)


def _asr(text: str, rng: random.Random) -> str:
    out = "".join(" " if ch in _PUNCT and rng.random() < 0.5 else ("" if ch in _PUNCT else ch) for ch in text)
    if rng.random() < 0.7:
        out = rng.choice(ASR_FILLERS) + rng.choice(["", " "]) + out
    return " ".join(out.split())


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def build(n: int, seed: int = SEED) -> list[Utterance]:
    import opencc

    to_traditional = opencc.OpenCC("s2twp").convert
    clean, trigger = pools()
    rng = random.Random(seed)
    styles, weights = list(STYLE_SHARES), list(STYLE_SHARES.values())
    out = []
    for _ in range(n):
        has_trigger = rng.random() < TRIGGER_SHARE
        core = rng.choice(trigger if has_trigger else clean)
        parts = [core] + rng.sample(SERVICE_LINES, rng.choice((0, 0, 1, 1, 2)))
        rng.shuffle(parts)
        text = "".join(parts)
        style = rng.choices(styles, weights)[0]
        if style == "chat":
            text = _chat(text, rng)
        elif style == "asr":
            text = _asr(text, rng)
        script = "traditional" if rng.random() < TRADITIONAL_SHARE else "simplified"
        if script == "traditional":
            text = to_traditional(text)
        wide = rng.random() < FULL_WIDTH_SHARE
        if wide:
            text = _full_width(text)
        out.append(Utterance(text, has_trigger, style, script, wide))
    return out


def describe(corpus: list[Utterance]) -> dict[str, object]:
    chars = sum(len(u.text) for u in corpus)
    return {
        "utterances": len(corpus),
        "distinct": len({u.text for u in corpus}),
        "chars": chars,
        "mb_utf8": sum(len(u.text.encode("utf-8")) for u in corpus) / 1e6,
        "mean_chars": chars / max(1, len(corpus)),
        "trigger_source": sum(u.trigger_source for u in corpus) / max(1, len(corpus)),
        "styles": {k: v / len(corpus) for k, v in sorted(Counter(u.style for u in corpus).items())},
        "traditional": sum(u.script == "traditional" for u in corpus) / max(1, len(corpus)),
        "full_width": sum(u.full_width for u in corpus) / max(1, len(corpus)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, help="write JSON Lines here (default: print a summary)")
    args = parser.parse_args()
    corpus = build(args.n, args.seed)
    if args.out:
        with args.out.open("w", encoding="utf-8") as f:
            for i, u in enumerate(corpus):
                f.write(json.dumps({"id": f"u{i}", "role": "agent", **asdict(u)}, ensure_ascii=False) + "\n")
    print(json.dumps(describe(corpus), ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()

"""Validate corpora/rewrites/rewrites.jsonl and print its counts (stdlib only).

Usage: python corpora/rewrites/check.py [FILE]      exit status 1 and one line per error on failure

Rules (see README.md): every line is a JSON object with the fields below; ids rw-0001… in order
and unique; texts unique; each trigger's offsets are Python str indices into ``text`` (end
exclusive) around a span that starts and ends on a word character; categories are the ids of
corpora/categories.yaml; two or more distinct acceptable rewrites, none equal to the original,
none containing a trigger span's words; every keep word occurs in the original outside the
trigger spans and in every acceptable rewrite; a rewrite adds no promise word (refund,
compensation, escalation, callback) of a kind the original does not make unless the original
has the same word; ``keep_no`` lines keep a negation in every rewrite; ``asr`` lines and their
rewrites carry no punctuation; ``chat`` rewrites keep a chat marker (亲/呢/哦/～/emoji…);
``traditional`` lines and rewrites use no Simplified-only character of the table below and the
other styles no Traditional-only one. Set-level minimums: 420 lines, 60 Traditional, 40 with two
or more triggers, every category present, split dev about 30%.
"""
from __future__ import annotations

import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_FILE = HERE / "rewrites.jsonl"
CATEGORIES_FILE = HERE.parent / "categories.yaml"

FIELDS = {"id", "text", "style", "triggers", "acceptable", "keep", "promise", "note", "split"}
OPTIONAL = {"keep_no"}
STYLES = ("formal", "chat", "asr", "traditional")
PROMISES = ("none", "refund", "escalation", "compensation", "callback")
SPLITS = ("dev", "test")
MINIMUMS = {"lines": 420, "traditional": 60, "two_triggers": 40}

# Words that commit the agent to something; a rewrite must not bring in a kind the original
# does not make (README: "no false promise").
PROMISE_WORDS = {
    "refund": ["退款", "退钱", "退錢", "退还", "退還", "返还", "返還"],
    "compensation": ["补偿", "補償", "赔偿", "賠償", "赔付", "賠付", "补贴", "補貼", "优惠券", "優惠券",
                     "代金券", "红包", "紅包"],
    "escalation": ["主管", "上级", "上級", "经理", "經理", "领导", "領導", "转接", "轉接", "升级处理",
                   "升級處理", "专员", "專員"],
    "callback": ["回电", "回電", "回复您", "回覆您", "联系您", "聯繫您", "聯絡您", "打给您", "打給您",
                 "通知您", "回访", "回訪"],
}
NEGATIONS = "不没沒无無未非别別"
PUNCT = set("，。！？、；：,.!?;:…“”‘’\"'（）()《》【】—～~")
CHAT_MARKERS = ("亲", "親", "呢", "哦", "喔", "～", "~", "啦", "呀", "哈", "嘛", "哟", "噢", "滴")
# Simplified → Traditional pairs whose two forms never share a meaning in service talk.
SIMP_TRAD = ("这這 们們 说說 为為 时時 会會 过過 么麼 还還 没沒 问問 题題 发發 让讓 给給 请請 单單 钱錢 "
             "帮幫 货貨 订訂 号號 码碼 费費 办辦 务務 门門 电電 话話 经經 应應 该該 联聯 机機 买買 "
             "卖賣 邮郵 认認 确確 处處 员員 资資 决決 对對 关關 开開 实實 东東 车車 长長 两兩 现現 "
             "进進 难難 报報 试試 变變 数數 换換 预預 约約 网網 线線 绑綁 条條 证證 诉訴 务務 "
             "谢謝 师師 级級 领領 导導 见見 觉覺 惯慣 规規 选選 写寫 错錯 搞搞 记記 听聽 讲講 "
             "气氣 着著 吗嗎 麻麻 烦煩 请請 楼樓 层層 级級 补補 偿償 赔賠 转轉 递遞 检檢 查查 "
             "态態 虑慮 样樣 节節 图圖 页頁 扫掃 码碼 态態 顾顧 总總 统統 积積 录錄 账帳 户戶 "
             "饭飯 馆館 医醫 药藥 险險 续續 签簽 险險 额額 储儲 卡卡 岁歲 婚婚 职職 宗宗 教教")


def _script_tables() -> tuple[set[str], set[str]]:
    simp, trad = set(), set()
    for pair in SIMP_TRAD.split():
        if len(pair) == 2 and pair[0] != pair[1]:
            simp.add(pair[0])
            trad.add(pair[1])
    return simp, trad


SIMP_ONLY, TRAD_ONLY = _script_tables()


def load_categories(path: Path = CATEGORIES_FILE) -> list[str]:
    """The category ids of corpora/categories.yaml (its ``- id: x`` lines)."""
    ids = re.findall(r"^-\s*id:\s*([a-z_]+)\s*$", path.read_text(encoding="utf-8"), re.M)
    if not ids:
        raise ValueError(f"{path}: no category ids found")
    return ids


def _is_word_char(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "LN"


def _has_emoji(s: str) -> bool:
    return any(ord(c) >= 0x1F000 or 0x2600 <= ord(c) <= 0x27BF for c in s)


def _outside_spans(text: str, triggers: list[dict]) -> str:
    chars = list(text)
    for t in triggers:
        for i in range(t["start"], t["end"]):
            chars[i] = "\x00"
    return "".join(chars)


def check_row(row: object, lineno: int, categories: set[str]) -> list[str]:
    """Errors of one parsed line (empty list when it is fine)."""
    errs: list[str] = []

    def err(msg: str) -> None:
        errs.append(f"line {lineno}: {msg}")

    if not isinstance(row, dict):
        return [f"line {lineno}: not a JSON object"]
    missing = FIELDS - row.keys()
    extra = row.keys() - FIELDS - OPTIONAL
    if missing:
        err(f"missing fields {sorted(missing)}")
    if extra:
        err(f"unknown fields {sorted(extra)}")
    if missing:
        return errs
    text, style = row["text"], row["style"]
    if not isinstance(text, str) or not text.strip():
        return errs + [f"line {lineno}: text must be a non-empty string"]
    if style not in STYLES:
        err(f"style {style!r} not one of {STYLES}")
    if row["promise"] not in PROMISES:
        err(f"promise {row['promise']!r} not one of {PROMISES}")
    if row["split"] not in SPLITS:
        err(f"split {row['split']!r} not one of {SPLITS}")
    if not isinstance(row["note"], str):
        err("note must be a string")
    if "keep_no" in row and row["keep_no"] is not True:
        err("keep_no, when present, must be true")

    triggers = row["triggers"]
    if not isinstance(triggers, list) or not triggers:
        return errs + [f"line {lineno}: triggers must be a non-empty list"]
    spans = []
    for t in triggers:
        if not isinstance(t, dict) or set(t) != {"start", "end", "category"}:
            err(f"trigger {t!r} must have exactly start, end, category")
            continue
        s, e, cat = t["start"], t["end"], t["category"]
        if cat not in categories:
            err(f"category {cat!r} not in categories.yaml")
        if not (isinstance(s, int) and isinstance(e, int) and 0 <= s < e <= len(text)):
            err(f"offsets {s}..{e} outside text of length {len(text)}")
            continue
        span = text[s:e]
        if not (_is_word_char(span[0]) and _is_word_char(span[-1])):
            err(f"span {span!r} must start and end on a word character")
        spans.append((s, e, span))
    for (s1, e1, a), (s2, e2, b) in zip(sorted(spans), sorted(spans)[1:]):
        if s2 < e1:
            err(f"trigger spans {a!r} and {b!r} overlap")
    if len(spans) != len(triggers):
        return errs

    acceptable = row["acceptable"]
    if not isinstance(acceptable, list) or len(acceptable) < 2:
        return errs + [f"line {lineno}: needs at least 2 acceptable rewrites"]
    if any(not isinstance(a, str) or not a.strip() for a in acceptable):
        return errs + [f"line {lineno}: acceptable rewrites must be non-empty strings"]
    if len(set(acceptable)) != len(acceptable):
        err("acceptable rewrites repeat")
    outside = _outside_spans(text, triggers)
    keep = row["keep"]
    if not isinstance(keep, list) or any(not isinstance(k, str) or not k for k in keep):
        return errs + [f"line {lineno}: keep must be a list of non-empty strings"]
    for k in keep:
        if k not in outside:
            err(f"keep word {k!r} is not in the original outside the trigger spans")
    promise_in = {kind for kind, words in PROMISE_WORDS.items() if any(w in text for w in words)}
    for n, a in enumerate(acceptable, 1):
        where = f"rewrite {n} {a!r}"
        if a == text:
            err(f"{where} is the original")
        for k in keep:
            if k not in a:
                err(f"{where} lacks keep word {k!r}")
        for _, _, span in spans:
            if span in a:
                err(f"{where} still holds the trigger {span!r}")
        for kind, words in PROMISE_WORDS.items():
            if kind == row["promise"] or kind in promise_in:
                continue
            added = [w for w in words if w in a and w not in text]
            if added:
                err(f"{where} adds a {kind} promise ({added[0]}) the original does not make")
        if row.get("keep_no") and not any(c in a for c in NEGATIONS):
            err(f"{where} drops the no (keep_no)")
        if style == "asr" and any(c in PUNCT for c in a):
            err(f"{where}: asr rewrites carry no punctuation")
        if style == "chat" and not (any(m in a for m in CHAT_MARKERS) or _has_emoji(a)):
            err(f"{where}: chat rewrite lost the chat tone (no 亲/呢/哦/～/emoji…)")
        wrong = (SIMP_ONLY if style == "traditional" else TRAD_ONLY) & set(a)
        if wrong:
            err(f"{where}: characters {''.join(sorted(wrong))} are in the wrong script")
    if style == "asr" and any(c in PUNCT for c in text):
        err("asr text carries punctuation")
    wrong = (SIMP_ONLY if style == "traditional" else TRAD_ONLY) & set(text)
    if wrong:
        err(f"text: characters {''.join(sorted(wrong))} are in the wrong script")
    return errs


def validate(path: Path = DEFAULT_FILE, minimums: bool = True) -> tuple[list[str], list[dict]]:
    """(errors, rows) for a rewrite-set file; errors name the line."""
    categories = set(load_categories())
    errors: list[str] = []
    rows: list[dict] = []
    ids: dict[str, int] = {}
    texts: dict[str, int] = {}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                errors.append(f"line {lineno}: blank line")
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(f"line {lineno}: not JSON ({exc.msg})")
                continue
            row_errs = check_row(row, lineno, categories)
            errors.extend(row_errs)
            if not isinstance(row, dict) or "id" not in row or "text" not in row:
                continue
            expected = f"rw-{len(rows) + 1:04d}"
            if row["id"] != expected:
                errors.append(f"line {lineno}: id {row['id']!r}, expected {expected!r}")
            if row["id"] in ids:
                errors.append(f"line {lineno}: id {row['id']} repeats line {ids[row['id']]}")
            ids.setdefault(row["id"], lineno)
            if row["text"] in texts:
                errors.append(f"line {lineno}: text repeats line {texts[row['text']]}")
            texts.setdefault(row["text"], lineno)
            rows.append(row)
    if minimums and not errors:
        errors.extend(check_minimums(rows, categories))
    return errors, rows


def check_minimums(rows: list[dict], categories: set[str]) -> list[str]:
    errs = []
    c = counts(rows)
    if c["lines"] < MINIMUMS["lines"]:
        errs.append(f"set: {c['lines']} lines, at least {MINIMUMS['lines']} needed")
    if c["style"].get("traditional", 0) < MINIMUMS["traditional"]:
        errs.append(f"set: {c['style'].get('traditional', 0)} traditional lines, "
                    f"at least {MINIMUMS['traditional']} needed")
    if c["two_triggers"] < MINIMUMS["two_triggers"]:
        errs.append(f"set: {c['two_triggers']} lines with two triggers, "
                    f"at least {MINIMUMS['two_triggers']} needed")
    for cat in sorted(categories - set(c["category"])):
        errs.append(f"set: no trigger of category {cat}")
    for style in STYLES:
        if c["style"].get(style, 0) == 0:
            errs.append(f"set: no line of style {style}")
    dev = c["split"].get("dev", 0) / max(1, c["lines"])
    if not 0.25 <= dev <= 0.35:
        errs.append(f"set: dev share {dev:.2f}, expected about 0.30")
    return errs


def counts(rows: list[dict]) -> dict:
    by_cat: Counter = Counter()
    by_cat_split: Counter = Counter()
    by_style_split: Counter = Counter()
    for r in rows:
        for cat in {t["category"] for t in r["triggers"]}:
            by_cat[cat] += 1
            by_cat_split[(cat, r["split"])] += 1
        by_style_split[(r["style"], r["split"])] += 1
    return {
        "lines": len(rows),
        "category": dict(by_cat),
        "category_split": dict(by_cat_split),
        "style": dict(Counter(r["style"] for r in rows)),
        "style_split": dict(by_style_split),
        "split": dict(Counter(r["split"] for r in rows)),
        "promise": dict(Counter(r["promise"] for r in rows)),
        "two_triggers": sum(1 for r in rows if len(r["triggers"]) >= 2),
        "keep_no": sum(1 for r in rows if r.get("keep_no")),
        "rewrites": sum(len(r["acceptable"]) for r in rows),
    }


def format_counts(c: dict, categories: list[str]) -> str:
    out = [f"lines {c['lines']}  acceptable rewrites {c['rewrites']}  "
           f"two or more triggers {c['two_triggers']}  keep_no {c['keep_no']}",
           "split " + "  ".join(f"{k} {v}" for k, v in sorted(c["split"].items())),
           "promise " + "  ".join(f"{k} {v}" for k, v in sorted(c["promise"].items())),
           f"{'style':<15}{'lines':>6}{'dev':>6}{'test':>6}"]
    for s in STYLES:
        out.append(f"{s:<15}{c['style'].get(s, 0):>6}{c['style_split'].get((s, 'dev'), 0):>6}"
                   f"{c['style_split'].get((s, 'test'), 0):>6}")
    out.append(f"{'category':<15}{'lines':>6}{'dev':>6}{'test':>6}   (a line counts once per category it holds)")
    for cat in categories:
        out.append(f"{cat:<15}{c['category'].get(cat, 0):>6}"
                   f"{c['category_split'].get((cat, 'dev'), 0):>6}"
                   f"{c['category_split'].get((cat, 'test'), 0):>6}")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0]) if argv else DEFAULT_FILE
    try:
        errors, rows = validate(path)
    except OSError as exc:
        print(f"{path}: cannot read ({exc.strerror})", file=sys.stderr)
        return 1
    for e in errors:
        print(f"{path}: {e}", file=sys.stderr)
    print(format_counts(counts(rows), load_categories()))
    if errors:
        print(f"{len(errors)} errors", file=sys.stderr)
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())

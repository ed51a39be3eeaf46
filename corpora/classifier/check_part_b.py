#!/usr/bin/env python3
"""Check corpora/classifier/part-b.jsonl (trigger-classifier data, part B).

Part B holds the categories dismissive, contradiction, us_vs_them, unknown and privacy,
plus label-none lines (hard negatives and neutral lines). Standalone: python3 stdlib only.

    python3 corpora/classifier/check_part_b.py [path/to/part-b.jsonl]

Prints the counts and the highest cross-split similarity, and exits 1 if a rule of the
data brief is broken (schema, mix, group/split consistency, duplicates, leakage).

Similarity is character-bigram Jaccard, computed twice and the larger value kept:
on the raw text, and on a normalised text (Traditional characters mapped to Simplified
with the table below, punctuation/whitespace/emoji removed, 您 -> 你), so that a
Traditional or unpunctuated ASR copy of a line counts as the same line.
"""
import collections
import json
import os
import re
import sys

def category_labels():
    """The category ids of corpora/categories.yaml (``- id: NAME`` lines), plus none: the one label
    set every corpus checker reads."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "categories.yaml")
    with open(path, encoding="utf-8") as fh:
        ids = re.findall(r"^- id:\s*([a-z_]+)\s*$", fh.read(), flags=re.M)
    return set(ids) | {"none"}


CATS = ["dismissive", "contradiction", "us_vs_them", "unknown", "privacy"]  # part B's share
LABELS = set(CATS) | {"none"}
assert LABELS <= category_labels(), "part B's categories must be ids of corpora/categories.yaml"
KINDS = {"verbatim", "paraphrase", "hard_negative", "neutral"}
SCRIPTS = {"simplified", "traditional"}
STYLES = {"formal", "chat", "asr"}
SPLITS = {"train", "dev", "test"}
DOMAINS = {"e-commerce", "telecom", "banking", "logistics", "property", "software", "hotel",
           "restaurant", "insurance", "airline", "car service", "education", "government",
           "healthcare", "utilities", "gaming"}
KEYS = ["id", "text", "label", "kind", "script", "style", "domain", "group", "split"]


def keys_for(o, base=KEYS):
    """The keys a line of parts A-C has, in order: ``base``, with ``span`` right after ``label`` on a
    positive (a gold span on every positive and on no negative, as in part D)."""
    pos = o.get("label") not in (None, "none")
    return base[:3] + (["span"] if pos else []) + base[3:]


def span_problems(o):
    """What is wrong with the gold span of line ``o`` (empty when nothing). The rule is part D's
    (``check_part_d.span_problems``: a substring, at least two characters, not only particles or
    endearments), imported here so that every part is held to the same one."""
    if o.get("label") in (None, "none"):
        return ["a label-none line has a span"] if "span" in o else []
    if "span" not in o:
        return ["a positive has no span"]
    import check_part_d  # here, not at the top: check_part_d imports this module

    return check_part_d.span_problems(o.get("text", ""), o["span"])


def span_summary(rows):
    """One line for the report: how many spans, and their mean length per label."""
    by = collections.defaultdict(list)
    for o in rows:
        if isinstance(o.get("span"), str):
            by[o["label"]].append(len(o["span"]))
    n = sum(len(v) for v in by.values())
    mean = {k: round(sum(v) / len(v), 1) for k, v in sorted(by.items())}
    return f"spans: {n} (mean length per label {mean})"


MIN_POS = 190            # positives per category
MIN_PARA_SHARE = 0.35    # paraphrase share of a category's positives
MIN_NONE = 720
MIN_HARD = 420
MIN_HARD_PER_CAT = 60
MIN_NEUTRAL = 250
MIN_TRAD, MIN_CHAT, MIN_ASR = 0.15, 0.20, 0.15
SPLIT_SHARE = {"train": (0.64, 0.76), "dev": (0.12, 0.18), "test": (0.12, 0.18)}
NEAR_DUP = 0.8
LEAK = 0.5
MIN_LEN, MAX_LEN = 4, 60

# Hard-negative groups are numbered in blocks by the category they are near misses for.
NEAR_MISS_GROUPS = {
    "dismissive": (528, 579),
    "contradiction": (580, 620),
    "us_vs_them": (621, 662),
    "unknown": (663, 720),
    "privacy": (721, 769),
}

# Traditional -> Simplified, one character each, for the characters this file uses.
T2S = {
    "並": "并", "亂": "乱", "來": "来", "係": "系", "倉": "仓", "個": "个", "們": "们", "備": "备", "傳": "传", "價": "价", "償": "偿", "優": "优",
    "儲": "储", "內": "内", "兩": "两", "冊": "册", "別": "别", "則": "则", "剛": "刚", "動": "动", "務": "务", "匯": "汇", "區": "区", "協": "协",
    "員": "员", "問": "问", "啟": "启", "喎": "㖞", "單": "单", "嗎": "吗", "囉": "啰", "國": "国", "圍": "围", "圖": "图", "團": "团", "執": "执",
    "報": "报", "場": "场", "塊": "块", "壓": "压", "夠": "够", "婦": "妇", "媽": "妈", "學": "学", "實": "实", "審": "审", "寫": "写", "寬": "宽",
    "將": "将", "專": "专", "對": "对", "層": "层", "屬": "属", "師": "师", "帳": "帐", "帶": "带", "幫": "帮", "幾": "几", "庫": "库", "廚": "厨",
    "廠": "厂", "廳": "厅", "張": "张", "後": "后", "從": "从", "復": "复", "愛": "爱", "憑": "凭", "應": "应", "懷": "怀", "戶": "户", "掃": "扫",
    "掛": "挂", "換": "换", "損": "损", "擇": "择", "擔": "担", "據": "据", "擺": "摆", "擾": "扰", "攜": "携", "數": "数", "斷": "断", "時": "时",
    "暫": "暂", "曉": "晓", "書": "书", "會": "会", "東": "东", "條": "条", "棟": "栋", "業": "业", "樓": "楼", "樣": "样", "機": "机", "檢": "检",
    "櫃": "柜", "權": "权", "歡": "欢", "歲": "岁", "氣": "气", "決": "决", "沒": "没", "況": "况", "減": "减", "準": "准", "滲": "渗", "滿": "满",
    "漲": "涨", "濟": "济", "為": "为", "無": "无", "煩": "烦", "熱": "热", "營": "营", "狀": "状", "猶": "犹", "獎": "奖", "獨": "独", "獲": "获",
    "現": "现", "畢": "毕", "當": "当", "疊": "叠", "瘋": "疯", "發": "发", "盜": "盗", "監": "监", "確": "确", "碼": "码", "礦": "矿", "種": "种",
    "積": "积", "筆": "笔", "範": "范", "簡": "简", "紀": "纪", "約": "约", "級": "级", "細": "细", "組": "组", "結": "结", "絡": "络", "給": "给",
    "統": "统", "經": "经", "維": "维", "網": "网", "緊": "紧", "線": "线", "編": "编", "總": "总", "繳": "缴", "繼": "继", "續": "续", "義": "义",
    "習": "习", "聯": "联", "聽": "听", "腦": "脑", "臨": "临", "舉": "举", "艙": "舱", "菸": "烟", "萬": "万", "藥": "药", "處": "处", "號": "号",
    "術": "术", "補": "补", "裝": "装", "裡": "里", "複": "复", "見": "见", "規": "规", "視": "视", "親": "亲", "訂": "订", "計": "计", "訊": "讯",
    "託": "托", "記": "记", "設": "设", "訴": "诉", "診": "诊", "註": "注", "評": "评", "詢": "询", "試": "试", "話": "话", "該": "该", "詳": "详",
    "誇": "夸", "認": "认", "誤": "误", "說": "说", "誰": "谁", "課": "课", "調": "调", "請": "请", "諮": "咨", "講": "讲", "謝": "谢", "證": "证",
    "議": "议", "護": "护", "變": "变", "讓": "让", "貓": "猫", "財": "财", "貨": "货", "貴": "贵", "買": "买", "貸": "贷", "費": "费", "資": "资",
    "賠": "赔", "賺": "赚", "購": "购", "贈": "赠", "跡": "迹", "車": "车", "軌": "轨", "軟": "软", "較": "较", "輪": "轮", "轉": "转", "轍": "辙",
    "辦": "办", "這": "这", "週": "周", "進": "进", "運": "运", "過": "过", "達": "达", "遠": "远", "適": "适", "遲": "迟", "選": "选", "還": "还",
    "邊": "边", "醫": "医", "鈕": "钮", "錄": "录", "錢": "钱", "錯": "错", "錶": "表", "鐘": "钟", "長": "长", "門": "门", "閉": "闭", "開": "开",
    "間": "间", "關": "关", "隊": "队", "際": "际", "隨": "随", "雙": "双", "離": "离", "難": "难", "電": "电", "靜": "静", "響": "响", "項": "项",
    "順": "顺", "預": "预", "領": "领", "頭": "头", "頻": "频", "題": "题", "額": "额", "顏": "颜", "類": "类", "顧": "顾", "顯": "显", "風": "风",
    "飛": "飞", "飯": "饭", "養": "养", "馬": "马", "駕": "驾", "駛": "驶", "驗": "验", "驚": "惊", "驟": "骤", "體": "体", "髮": "发", "麼": "么",
    "黃": "黄", "點": "点", "齊": "齐", "齡": "龄",
}

PUNCT = re.compile(r"[\u3000-\u303f\uff00-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
                   r"!-/:-@\[-`{-~\s…“”‘’—·]")
EMOJI = re.compile(r"[\U0001F300-\U0001FAFF\u2600-\u27BF]")
FULLWIDTH = re.compile(r"[！？～\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")


def bigrams(s):
    return {s[i:i + 2] for i in range(len(s) - 1)}


def normalise(t):
    t = "".join(T2S.get(ch, ch) for ch in t)
    t = EMOJI.sub("", PUNCT.sub("", t))
    return t.replace("您", "你")


def jaccard(a, b):
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


def main():
    path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "part-b.jsonl")
    errors, warnings = [], []

    def err(msg):
        errors.append(msg)

    rows = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                err(f"line {n}: empty line")
                continue
            try:
                o = json.loads(line)
            except json.JSONDecodeError as e:
                err(f"line {n}: not JSON ({e})")
                continue
            if list(o) != keys_for(o):
                err(f"line {n}: keys {list(o)} != {keys_for(o)}")
                continue
            rows.append(o)

    ids = collections.Counter(o["id"] for o in rows)
    for i, c in ids.items():
        if c > 1:
            err(f"id {i} used {c} times")
    near_of_group = {}
    for cat, (lo, hi) in NEAR_MISS_GROUPS.items():
        for g in range(lo, hi + 1):
            near_of_group[f"b-g{g:04d}"] = cat

    group_split, group_label = {}, {}
    for o in rows:
        where = f"{o['id']}"
        t = o["text"]
        if not re.fullmatch(r"b-\d{5}", o["id"]):
            err(f"{where}: bad id")
        if not re.fullmatch(r"b-g\d{4}", o["group"]):
            err(f"{where}: bad group id {o['group']}")
        if o["label"] not in LABELS:
            err(f"{where}: label {o['label']!r} is not a part-b label")
        if o["kind"] not in KINDS:
            err(f"{where}: bad kind {o['kind']!r}")
        if o["script"] not in SCRIPTS:
            err(f"{where}: bad script {o['script']!r}")
        if o["style"] not in STYLES:
            err(f"{where}: bad style {o['style']!r}")
        if o["domain"] not in DOMAINS:
            err(f"{where}: bad domain {o['domain']!r}")
        if o["split"] not in SPLITS:
            err(f"{where}: bad split {o['split']!r}")
        if (o["label"] == "none") != (o["kind"] in ("hard_negative", "neutral")):
            err(f"{where}: label {o['label']} does not go with kind {o['kind']}")
        if not isinstance(t, str) or not (MIN_LEN <= len(t) <= MAX_LEN):
            err(f"{where}: text length {len(t)} outside {MIN_LEN}..{MAX_LEN}")
        if t != t.strip():
            err(f"{where}: leading/trailing whitespace")
        for msg in span_problems(o):
            err(f"{where}: {msg}: {t}")
        if o["style"] == "asr" and PUNCT.search(t):
            err(f"{where}: asr line has punctuation: {t}")
        has_trad = any(ch in T2S for ch in t)
        if o["script"] == "simplified" and has_trad:
            err(f"{where}: simplified line has Traditional characters: {t}")
        if o["script"] == "traditional" and not has_trad:
            warnings.append(f"{where}: traditional line has no character in the T2S table "
                            f"(extend the table if the line is new): {t}")
        g = o["group"]
        if group_split.setdefault(g, o["split"]) != o["split"]:
            err(f"group {g}: lines in more than one split")
        if group_label.setdefault(g, o["label"]) != o["label"]:
            err(f"group {g}: lines with more than one label")
        if o["kind"] == "hard_negative" and g not in near_of_group:
            err(f"{where}: hard negative in group {g}, which is in no NEAR_MISS_GROUPS block")
        if o["kind"] != "hard_negative" and g in near_of_group:
            err(f"{where}: group {g} is a near-miss block but kind is {o['kind']}")

    N = len(rows)
    if not N:
        err("no rows")
        return report(errors, warnings)

    # ---------------- counts ----------------
    by = lambda k: collections.Counter(o[k] for o in rows)
    lab, kind, scr, sty, spl = by("label"), by("kind"), by("script"), by("style"), by("split")
    dom = by("domain")
    print(f"file: {path}\nlines: {N}   groups: {len(group_split)}")
    print("label :", dict(sorted(lab.items())))
    print(span_summary(rows))
    print("kind  :", dict(sorted(kind.items())))
    print("script:", dict(sorted(scr.items())), f"(traditional {scr['traditional'] / N:.1%})")
    print("style :", dict(sorted(sty.items())),
          f"(chat {sty['chat'] / N:.1%}, asr {sty['asr'] / N:.1%})")
    print("split (lines):", dict(sorted(spl.items())))
    gs = collections.Counter(group_split.values())
    G = len(group_split)
    print("split (groups):", {k: f"{v} ({v / G:.1%})" for k, v in sorted(gs.items())})
    print("domain:", dict(sorted(dom.items())))
    print("\nper category   pos  verbatim paraphrase  para%  near-miss  dev/test groups")
    hard_per = collections.Counter(near_of_group.get(o["group"]) for o in rows
                                   if o["kind"] == "hard_negative")
    for c in CATS:
        pos = [o for o in rows if o["label"] == c]
        v = sum(o["kind"] == "verbatim" for o in pos)
        p = sum(o["kind"] == "paraphrase" for o in pos)
        held = {o["group"] for o in pos if o["split"] != "train"}
        share = p / len(pos) if pos else 0
        print(f"  {c:14s} {len(pos):4d} {v:8d} {p:10d} {share:6.1%} {hard_per[c]:10d} {len(held):8d}")
        if len(pos) < MIN_POS:
            err(f"{c}: {len(pos)} positives < {MIN_POS}")
        if share < MIN_PARA_SHARE:
            err(f"{c}: paraphrase share {share:.1%} < {MIN_PARA_SHARE:.0%}")
        if hard_per[c] < MIN_HARD_PER_CAT:
            err(f"{c}: {hard_per[c]} near-miss hard negatives < {MIN_HARD_PER_CAT}")
        for s in ("dev", "test"):
            if not any(o["split"] == s for o in pos):
                err(f"{c}: no positive in {s}")
            if not any(o["split"] == s and near_of_group.get(o["group"]) == c for o in rows):
                err(f"{c}: no near-miss hard negative in {s}")
    if lab["none"] < MIN_NONE:
        err(f"label none: {lab['none']} < {MIN_NONE}")
    if kind["hard_negative"] < MIN_HARD:
        err(f"hard negatives: {kind['hard_negative']} < {MIN_HARD}")
    if kind["neutral"] < MIN_NEUTRAL:
        err(f"neutral: {kind['neutral']} < {MIN_NEUTRAL}")
    if scr["traditional"] / N < MIN_TRAD:
        err(f"traditional share {scr['traditional'] / N:.1%} < {MIN_TRAD:.0%}")
    if sty["chat"] / N < MIN_CHAT:
        err(f"chat share {sty['chat'] / N:.1%} < {MIN_CHAT:.0%}")
    if sty["asr"] / N < MIN_ASR:
        err(f"asr share {sty['asr'] / N:.1%} < {MIN_ASR:.0%}")
    for s, (lo, hi) in SPLIT_SHARE.items():
        if not lo <= gs[s] / G <= hi:
            err(f"split {s}: {gs[s] / G:.1%} of groups, outside {lo:.0%}..{hi:.0%}")
    print("\nscript x style (positive / none):")
    for a in sorted(SCRIPTS):
        cells = []
        for b in sorted(STYLES):
            p = sum(o["script"] == a and o["style"] == b and o["label"] != "none" for o in rows)
            n = sum(o["script"] == a and o["style"] == b and o["label"] == "none" for o in rows)
            cells.append(f"{b} {p}/{n}")
        print(f"  {a:12s}", "  ".join(cells))
    for field, values in (("script", SCRIPTS), ("style", STYLES)):
        for v in values:
            for s in SPLITS:
                sub = [o for o in rows if o[field] == v and o["split"] == s]
                if not any(o["label"] != "none" for o in sub):
                    err(f"{field}={v}: no positive in {s}")
                if not any(o["label"] == "none" for o in sub):
                    err(f"{field}={v}: no label-none line in {s}")
    for k in KINDS:
        for s in SPLITS:
            if not any(o["kind"] == k and o["split"] == s for o in rows):
                err(f"kind {k}: none in {s}")
    missing = DOMAINS - set(dom)
    if missing:
        err(f"domains never used: {sorted(missing)}")
    n_emoji = sum(bool(EMOJI.search(o["text"])) for o in rows)
    n_full = sum(bool(FULLWIDTH.search(o["text"])) for o in rows)
    print(f"\nlines with emoji: {n_emoji}   with full-width ！？～/letters/digits: {n_full}")
    if not n_emoji:
        err("no line has an emoji")
    if not n_full:
        err("no line has full-width ！？～ or full-width letters/digits")

    # ---------------- similarity ----------------
    raw = [bigrams(o["text"]) for o in rows]
    nor = [bigrams(normalise(o["text"])) for o in rows]

    def sim(i, j):
        return max(jaccard(raw[i], raw[j]), jaccard(nor[i], nor[j]))

    train = [i for i, o in enumerate(rows) if o["split"] == "train"]
    held = [i for i, o in enumerate(rows) if o["split"] != "train"]
    dups = []
    for i in range(N):
        for j in range(i + 1, N):
            s = sim(i, j)
            if s >= NEAR_DUP:
                dups.append((s, i, j))
    for s, i, j in dups[:50]:
        err(f"near-duplicate ({s:.2f}): {rows[i]['id']} {rows[i]['text']} | "
            f"{rows[j]['id']} {rows[j]['text']}")
    if len(dups) > 50:
        err(f"... and {len(dups) - 50} more near-duplicates")
    worst = (0.0, None, None)
    leaks = 0
    for i in held:
        best, bj = 0.0, None
        for j in train:
            s = sim(i, j)
            if s > best:
                best, bj = s, j
        if best > worst[0]:
            worst = (best, i, bj)
        if best >= LEAK:
            leaks += 1
            if leaks <= 50:
                err(f"leak ({best:.2f}): {rows[i]['split']} {rows[i]['id']} {rows[i]['text']} | "
                    f"train {rows[bj]['id']} {rows[bj]['text']}")
    if leaks > 50:
        err(f"... and {leaks - 50} more dev/test lines too close to train")
    dt = 0.0
    dev = [i for i in held if rows[i]["split"] == "dev"]
    test = [i for i in held if rows[i]["split"] == "test"]
    for i in dev:
        for j in test:
            dt = max(dt, sim(i, j))
    s, i, j = worst
    print(f"\nnear-duplicate pairs (>= {NEAR_DUP}): {len(dups)}")
    print(f"max cross-split similarity (dev/test line vs its closest train line): {s:.3f}")
    if i is not None:
        print(f"  {rows[i]['id']} [{rows[i]['split']}] {rows[i]['text']}")
        print(f"  {rows[j]['id']} [train] {rows[j]['text']}")
    print(f"max dev-vs-test similarity (info): {dt:.3f}")
    return report(errors, warnings)


def report(errors, warnings):
    for w in warnings[:20]:
        print("WARNING:", w)
    if errors:
        print(f"\nFAILED: {len(errors)} problem(s)")
        for e in errors:
            print("  -", e)
        return 1
    print("\nOK: all rules hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())

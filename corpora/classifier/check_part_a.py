#!/usr/bin/env python3
"""Check corpora/classifier/part-a.jsonl against the data brief (python3 stdlib only).

Usage: python3 corpora/classifier/check_part_a.py [path/to/part-a.jsonl] [--against OTHER.jsonl ...]

With --against (e.g. the part-b file written in parallel), pairs across the two files are
checked too: no near-duplicate (>= 0.8) and no dev/test line at >= 0.5 to a train line of the
other file, since the parts are merged into one training set.

Prints the counts (label/kind/script/style/split/domain), the largest character-bigram
Jaccard similarity between any dev/test line and any train line, and every broken rule.
Exit status 0 when every rule holds, 1 otherwise.

Similarity is computed twice and the larger value counts: on the text with whitespace
removed, and on a normalised text (only letters/digits kept, Traditional characters mapped
to Simplified with the small table below) so that a script switch or punctuation change
cannot hide a near copy.
"""
import collections
import json
import os
import re
import sys
import unicodedata

CATEGORIES = ["blame", "you_statement", "command", "refusal", "confrontation"]
LABELS = set(CATEGORIES) | {"none"}
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_part_b import category_labels, keys_for, span_problems, span_summary  # noqa: E402

assert LABELS <= category_labels(), "part A's categories must be ids of corpora/categories.yaml"
KINDS = {"verbatim", "paraphrase", "hard_negative", "neutral"}
SCRIPTS = {"simplified", "traditional"}
STYLES = {"formal", "chat", "asr"}
SPLITS = {"train", "dev", "test"}
DOMAINS = {"e-commerce", "telecom", "banking", "logistics", "property", "software", "hotel",
           "restaurant", "insurance", "airline", "car service", "education", "government",
           "healthcare", "utilities", "gaming"}
FIELDS = ["id", "text", "label", "kind", "script", "style", "domain", "group", "split"]

MIN_POS = 190            # positives per category
MIN_PARA_SHARE = 0.35    # paraphrase share of each category's positives
MIN_NONE = 720
MIN_HARD = 420
MIN_NEUTRAL = 250
MIN_NEAR = 60            # hard negatives that are near misses of each category
MIN_TRAD, MIN_CHAT, MIN_ASR = 0.15, 0.20, 0.15
MAX_CROSS_SIM = 0.5      # dev/test vs train, strict
NEAR_DUP = 0.8           # within the file, strict
SPLIT_SHARE = {"train": (0.62, 0.78), "dev": (0.10, 0.20), "test": (0.10, 0.20)}

# Hard-negative groups written as near misses of each category (kept here, not in the data,
# so the JSONL keeps exactly the brief's fields).
NEAR_MISS_GROUPS = {
    "blame": [
        "a-g0453", "a-g0454", "a-g0455", "a-g0456", "a-g0457", "a-g0458", "a-g0459", "a-g0460",
        "a-g0461", "a-g0462", "a-g0463", "a-g0464", "a-g0465", "a-g0466", "a-g0467", "a-g0468",
        "a-g0469", "a-g0470", "a-g0471", "a-g0472", "a-g0473", "a-g0474", "a-g0475", "a-g0476",
        "a-g0477", "a-g0478", "a-g0479", "a-g0480", "a-g0481", "a-g0482", "a-g0483", "a-g0484",
        "a-g0814", "a-g0855", "a-g0872", "a-g0874"],
    "command": [
        "a-g0514", "a-g0515", "a-g0516", "a-g0517", "a-g0518", "a-g0519", "a-g0520", "a-g0521",
        "a-g0522", "a-g0523", "a-g0524", "a-g0525", "a-g0526", "a-g0527", "a-g0528", "a-g0529",
        "a-g0530", "a-g0531", "a-g0532", "a-g0533", "a-g0534", "a-g0535", "a-g0536", "a-g0537",
        "a-g0538", "a-g0539", "a-g0540", "a-g0541", "a-g0542", "a-g0543", "a-g0544", "a-g0545",
        "a-g0546", "a-g0547", "a-g0812", "a-g0813", "a-g0857", "a-g0869"],
    "confrontation": [
        "a-g0579", "a-g0580", "a-g0581", "a-g0582", "a-g0583", "a-g0584", "a-g0585", "a-g0586",
        "a-g0587", "a-g0588", "a-g0589", "a-g0590", "a-g0591", "a-g0592", "a-g0593", "a-g0594",
        "a-g0595", "a-g0596", "a-g0597", "a-g0598", "a-g0599", "a-g0600", "a-g0601", "a-g0602",
        "a-g0603", "a-g0604", "a-g0605", "a-g0606", "a-g0607", "a-g0799", "a-g0800", "a-g0801",
        "a-g0802", "a-g0803", "a-g0804", "a-g0805", "a-g0806", "a-g0859", "a-g0871"],
    "refusal": [
        "a-g0548", "a-g0549", "a-g0550", "a-g0551", "a-g0552", "a-g0553", "a-g0554", "a-g0555",
        "a-g0556", "a-g0557", "a-g0558", "a-g0559", "a-g0560", "a-g0561", "a-g0562", "a-g0563",
        "a-g0564", "a-g0565", "a-g0566", "a-g0567", "a-g0568", "a-g0569", "a-g0570", "a-g0571",
        "a-g0572", "a-g0573", "a-g0574", "a-g0575", "a-g0576", "a-g0577", "a-g0578", "a-g0807",
        "a-g0808", "a-g0809", "a-g0810", "a-g0811", "a-g0858", "a-g0870"],
    "you_statement": [
        "a-g0485", "a-g0486", "a-g0487", "a-g0488", "a-g0489", "a-g0490", "a-g0491", "a-g0492",
        "a-g0493", "a-g0494", "a-g0495", "a-g0496", "a-g0497", "a-g0498", "a-g0499", "a-g0500",
        "a-g0501", "a-g0502", "a-g0503", "a-g0504", "a-g0505", "a-g0506", "a-g0507", "a-g0508",
        "a-g0509", "a-g0510", "a-g0511", "a-g0512", "a-g0513", "a-g0791", "a-g0792", "a-g0793",
        "a-g0794", "a-g0795", "a-g0796", "a-g0797", "a-g0798", "a-g0856", "a-g0873"],
}

# Traditional -> Simplified for the characters this file uses (pairs, generated with OpenCC t2s).
_T2S_PAIRS = (
    "丟丢乾干亂乱併并來来係系倉仓個个們们備备傳传價价償偿優优儲储兌兑內内兩两冊册凍冻"
    "別别刪删則则剛刚動动務务勞劳匯汇區区協协卻却參参員员唸念問问啟启喚唤單单嗎吗嗰𠮶"
    "囉啰囑嘱國国圍围報报場场塗涂塵尘壓压壞坏媽妈學学實实審审寫写寬宽將将專专對对層层"
    "屬属師师帳帐帶带幫帮幹干幾几庫库廂厢廚厨廠厂廢废廳厅張张強强後后從从復复徵征愛爱"
    "慮虑憑凭應应戲戏戶户掛挂換换損损搵揾摺折撥拨擋挡擔担據据擾扰攔拦攜携數数斷断於于"
    "時时書书會会東东條条棟栋業业樓楼標标樣样機机檔档檢检檯台櫃柜欄栏權权歡欢歷历歸归"
    "氣气決决沒没況况測测湊凑準准溝沟滯滞滲渗滿满濟济濾滤為为無无煩烦熱热燈灯營营爭争"
    "牽牵狀状獨独現现環环產产畫画異异當当療疗發发盜盗盡尽確确碼码禮礼種种稱称積积筆笔"
    "範范簡简簽签籤签糾纠紀纪約约納纳級级紛纷細细組组結结絡络給给統统綁绑經经維维網网"
    "線线編编練练縮缩總总績绩繞绕繫系繳缴繼继續续習习聯联聲声聽听腦脑臟脏臨临與与興兴"
    "舉举舊旧艙舱華华萬万蓋盖處处號号螢萤蠻蛮補补裝装裡里複复見见規规視视親亲覺觉觀观"
    "訂订計计訊讯託托記记設设訴诉診诊註注詐诈詢询試试話话該该認认誤误說说誰谁課课調调"
    "請请諒谅講讲謝谢證证議议護护讀读變变讓让負负財财貨货責责買买貸贷費费貼贴資资賠赔"
    "賣卖購购賽赛趕赶車车軟软較较輸输轉转辦办這这連连週周進进遊游運运過过達达違违遞递"
    "遠远適适遲迟選选遺遗還还邊边鄰邻醫医釋释釣钓銀银銷销錄录錢钱錯错錶表鍋锅鍵键鎖锁"
    "鐘钟長长門门閃闪開开間间閱阅關关陳陈陽阳際际隨随險险隱隐雙双雜杂離离雲云電电霧雾"
    "靜静頁页項项順顺須须預预領领頭头頻频顆颗題题額额顏颜類类顯显風风颱台飛飞飯饭養养"
    "餘余館馆馬马騙骗驗验體体魚鱼鮮鲜鹹咸麼么點点齊齐"
)
T2S = {_T2S_PAIRS[i]: _T2S_PAIRS[i + 1] for i in range(0, len(_T2S_PAIRS), 2)}

ASR_PUNCT = re.compile(r"[，。！？、；：“”‘’「」『』（）《》…～~!?,.;:()\[\]\"'·—\-]")
FULLWIDTH = re.compile(r"[！？～，：（）]")


def is_emoji(ch):
    o = ord(ch)
    return 0x1F000 <= o <= 0x1FAFF or 0x2600 <= o <= 0x27BF


def raw_form(text):
    return "".join(ch for ch in text if not ch.isspace())


def norm_form(text):
    kept = "".join(ch for ch in text if unicodedata.category(ch)[0] in "LN")
    return "".join(T2S.get(ch, ch) for ch in kept)


def bigrams(s):
    if len(s) < 2:
        return {s} if s else set()
    return {s[i:i + 2] for i in range(len(s) - 1)}


def jaccard(a, b):
    if not a or not b:
        return 0.0
    return len(a & b) / len(a | b)


class Sim:
    """Max over the two text forms; inverted bigram index for speed."""

    def __init__(self, texts):
        self.forms = [(bigrams(raw_form(t)), bigrams(norm_form(t))) for t in texts]
        self.index = [collections.defaultdict(set), collections.defaultdict(set)]
        for i, fs in enumerate(self.forms):
            for k in (0, 1):
                for bg in fs[k]:
                    self.index[k][bg].add(i)

    def neighbours(self, i, allowed=None):
        """Yield (j, sim) for every j sharing a bigram with i (either form)."""
        cand = set()
        for k in (0, 1):
            for bg in self.forms[i][k]:
                cand |= self.index[k][bg]
        cand.discard(i)
        for j in cand:
            if allowed is not None and j not in allowed:
                continue
            s = max(jaccard(self.forms[i][0], self.forms[j][0]),
                    jaccard(self.forms[i][1], self.forms[j][1]))
            yield j, s


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    args = sys.argv[1:]
    others = []
    while "--against" in args:
        k = args.index("--against")
        others.append(args[k + 1])
        del args[k:k + 2]
    path = args[0] if args else os.path.join(here, "part-a.jsonl")
    errors = []

    def err(msg):
        errors.append(msg)

    recs = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                err(f"line {n}: empty line")
                continue
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                err(f"line {n}: bad JSON ({e})")
                continue
            if list(r.keys()) != keys_for(r, FIELDS):
                err(f"line {n}: fields {list(r.keys())} != {keys_for(r, FIELDS)}")
            recs.append(r)
    if not recs:
        print("no records"); return 1

    # ---- per-record rules
    for n, r in enumerate(recs, 1):
        rid = r.get("id")
        if rid != f"a-{n:05d}":
            err(f"{rid}: id out of sequence (expected a-{n:05d})")
        t = r.get("text", "")
        if not isinstance(t, str) or t != t.strip():
            err(f"{rid}: text not a trimmed string")
        if not 4 <= len(t) <= 60:
            err(f"{rid}: length {len(t)} outside 4..60")
        for msg in span_problems(r):
            err(f"{rid}: {msg}: {t}")
        if r.get("label") not in LABELS:
            err(f"{rid}: label {r.get('label')!r} not one of this part's labels")
        if r.get("kind") not in KINDS:
            err(f"{rid}: kind {r.get('kind')!r}")
        if r.get("script") not in SCRIPTS:
            err(f"{rid}: script {r.get('script')!r}")
        if r.get("style") not in STYLES:
            err(f"{rid}: style {r.get('style')!r}")
        if r.get("domain") not in DOMAINS:
            err(f"{rid}: domain {r.get('domain')!r}")
        if r.get("split") not in SPLITS:
            err(f"{rid}: split {r.get('split')!r}")
        if not re.fullmatch(r"a-g\d{4}", str(r.get("group"))):
            err(f"{rid}: group {r.get('group')!r}")
        pos = r.get("label") != "none"
        if pos and r.get("kind") not in ("verbatim", "paraphrase"):
            err(f"{rid}: positive with kind {r.get('kind')}")
        if not pos and r.get("kind") not in ("hard_negative", "neutral"):
            err(f"{rid}: label none with kind {r.get('kind')}")
        if r.get("style") == "asr" and (ASR_PUNCT.search(t) or any(is_emoji(c) for c in t)):
            err(f"{rid}: asr line has punctuation/emoji: {t}")
        letters = [c for c in t if unicodedata.category(c)[0] in "LN"]
        if r.get("script") == "simplified":
            bad = [c for c in letters if c in T2S]
            if bad:
                err(f"{rid}: Traditional characters {bad} in a simplified line")
        elif r.get("script") == "traditional":
            if not any(c in T2S for c in letters):
                err(f"{rid}: traditional line without any Traditional-only character: {t}")

    # ---- groups
    by_group = collections.defaultdict(list)
    for r in recs:
        by_group[r["group"]].append(r)
    for g, rs in by_group.items():
        if len({r["split"] for r in rs}) > 1:
            err(f"group {g}: lines in more than one split")
        if len({r["label"] for r in rs}) > 1:
            err(f"group {g}: more than one label")
    near_groups = {g for gs in NEAR_MISS_GROUPS.values() for g in gs}
    for g in near_groups:
        if g not in by_group:
            err(f"near-miss table names unknown group {g}")
        elif any(r["kind"] != "hard_negative" for r in by_group[g]):
            err(f"near-miss group {g} holds lines that are not hard negatives")

    # ---- counts
    N = len(recs)
    lab = collections.Counter(r["label"] for r in recs)
    kind = collections.Counter((r["label"], r["kind"]) for r in recs)
    script = collections.Counter(r["script"] for r in recs)
    style = collections.Counter(r["style"] for r in recs)
    dom = collections.Counter(r["domain"] for r in recs)
    gsplit = collections.Counter(rs[0]["split"] for rs in by_group.values())
    lsplit = collections.Counter(r["split"] for r in recs)
    near = {c: sum(len(by_group.get(g, [])) for g in NEAR_MISS_GROUPS.get(c, [])) for c in CATEGORIES}

    print(f"file: {path}\nlines: {N}   groups: {len(by_group)}")
    print(span_summary(recs))
    print("\nlabel            total  verbatim paraphrase hard_neg neutral   train  dev test")
    for L in CATEGORIES + ["none"]:
        sp = collections.Counter(r["split"] for r in recs if r["label"] == L)
        print(f"{L:15s} {lab[L]:6d} {kind[(L,'verbatim')]:9d} {kind[(L,'paraphrase')]:10d} "
              f"{kind[(L,'hard_negative')]:8d} {kind[(L,'neutral')]:7d}   {sp['train']:5d} {sp['dev']:4d} {sp['test']:4d}")
    print("\nnear misses (hard negatives) per category:", dict(near),
          "| other hard negatives:", kind[("none", "hard_negative")] - sum(near.values()))
    print("script:", {k: f"{v} ({v/N:.1%})" for k, v in sorted(script.items())})
    print("style: ", {k: f"{v} ({v/N:.1%})" for k, v in sorted(style.items())})
    print("split (lines): ", dict(sorted(lsplit.items())))
    G = len(by_group)
    print("split (groups):", {k: f"{v} ({v/G:.1%})" for k, v in sorted(gsplit.items())})
    print("domain:", dict(sorted(dom.items(), key=lambda x: -x[1])))
    cell = collections.Counter((r["script"], r["style"], r["label"] != "none") for r in recs)
    print("script x style (pos/neg):",
          {f"{s}/{y}": f"{cell[(s, y, True)]}/{cell[(s, y, False)]}" for s in sorted(SCRIPTS) for y in sorted(STYLES)})
    n_emoji = sum(any(is_emoji(c) for c in r["text"]) for r in recs)
    n_full = sum(bool(FULLWIDTH.search(r["text"])) for r in recs)
    print(f"lines with emoji: {n_emoji}   with full-width punctuation: {n_full}")

    for L in CATEGORIES:
        if lab[L] < MIN_POS:
            err(f"{L}: {lab[L]} positives < {MIN_POS}")
        if lab[L] and kind[(L, "paraphrase")] / lab[L] < MIN_PARA_SHARE:
            err(f"{L}: paraphrase share {kind[(L,'paraphrase')]/lab[L]:.1%} < {MIN_PARA_SHARE:.0%}")
        if near[L] < MIN_NEAR:
            err(f"{L}: {near[L]} near-miss hard negatives < {MIN_NEAR}")
        for sp in SPLITS:
            if not any(r["label"] == L and r["split"] == sp for r in recs):
                err(f"{L}: no line in split {sp}")
    if lab["none"] < MIN_NONE:
        err(f"none: {lab['none']} < {MIN_NONE}")
    if kind[("none", "hard_negative")] < MIN_HARD:
        err(f"hard negatives: {kind[('none','hard_negative')]} < {MIN_HARD}")
    if kind[("none", "neutral")] < MIN_NEUTRAL:
        err(f"neutral: {kind[('none','neutral')]} < {MIN_NEUTRAL}")
    if script["traditional"] / N < MIN_TRAD:
        err(f"traditional share {script['traditional']/N:.1%} < {MIN_TRAD:.0%}")
    if style["chat"] / N < MIN_CHAT:
        err(f"chat share {style['chat']/N:.1%} < {MIN_CHAT:.0%}")
    if style["asr"] / N < MIN_ASR:
        err(f"asr share {style['asr']/N:.1%} < {MIN_ASR:.0%}")
    for s in SCRIPTS:
        for y in STYLES:
            for p in (True, False):
                if not cell[(s, y, p)]:
                    err(f"no {'positive' if p else 'negative'} line in {s}/{y}")
    for d in DOMAINS - set(dom):
        err(f"domain {d} unused")
    if not n_emoji:
        err("no line with emoji")
    if not n_full:
        err("no line with full-width punctuation")
    for sp, (lo, hi) in SPLIT_SHARE.items():
        share = gsplit[sp] / G
        if not lo <= share <= hi:
            err(f"split {sp}: {share:.1%} of groups outside {lo:.0%}..{hi:.0%}")

    # ---- similarity
    texts = [r["text"] for r in recs]
    sim = Sim(texts)
    train = {i for i, r in enumerate(recs) if r["split"] == "train"}
    max_cross, worst = 0.0, None
    n_dup = 0
    for i, r in enumerate(recs):
        for j, s in sim.neighbours(i):
            if j > i and s >= NEAR_DUP:
                n_dup += 1
                err(f"near-duplicate ({s:.2f}): {recs[i]['id']} {texts[i]} | {recs[j]['id']} {texts[j]}")
        if r["split"] != "train":
            for j, s in sim.neighbours(i, train):
                if s > max_cross:
                    max_cross, worst = s, (i, j)
                if s >= MAX_CROSS_SIM:
                    err(f"dev/test line too close to train ({s:.2f}): {recs[i]['id']} {texts[i]} | "
                        f"{recs[j]['id']} {texts[j]}")
    print(f"\nnear-duplicate pairs (>= {NEAR_DUP}) within the file: {n_dup}")
    print(f"max cross-split similarity (dev/test vs train, bigram Jaccard): {max_cross:.3f}")
    if worst:
        i, j = worst
        print(f"  closest pair: {recs[i]['id']} ({recs[i]['split']}) {texts[i]}  ~  {recs[j]['id']} (train) {texts[j]}")

    for other in others:
        orecs = []
        with open(other, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    try:
                        orecs.append(json.loads(line))
                    except json.JSONDecodeError:
                        err(f"{other}: unreadable line")
        both = Sim(texts + [r.get("text", "") for r in orecs])
        n = len(recs)
        others_idx = set(range(n, n + len(orecs)))
        worst_x = 0.0
        for i, r in enumerate(recs):
            for j, s in both.neighbours(i, others_idx):
                o = orecs[j - n]
                if s >= NEAR_DUP:
                    err(f"near-duplicate across files ({s:.2f}): {r['id']} {r['text']} | {o.get('id')} {o.get('text')}")
                if (r["split"] == "train") != (o.get("split") == "train"):
                    worst_x = max(worst_x, s)
                    if s >= MAX_CROSS_SIM:
                        err(f"cross-file split leak ({s:.2f}): {r['id']} ({r['split']}) {r['text']} | "
                            f"{o.get('id')} ({o.get('split')}) {o.get('text')}")
        print(f"against {other}: {len(orecs)} lines, max train-vs-dev/test similarity across files {worst_x:.3f}")

    if errors:
        print(f"\n{len(errors)} problem(s):")
        for e in errors[:200]:
            print("  -", e)
        return 1
    print("\nall rules hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())

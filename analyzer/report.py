"""An analysed call (``analyzer.model.CallAnalysis``) as JSON (the shape of docs/interfaces.md), terminal
text, or one self-contained HTML page."""
from __future__ import annotations

import html
from typing import Any

from . import charts
from .labels import category_name, percent, scorecard_rows
from .lexicon import load_categories
from .model import AGENT, CallAnalysis, Flag, Turn


def to_dict(a: CallAnalysis) -> dict[str, Any]:
    """The documented JSON shape (``CallAnalysis.to_dict``)."""
    return a.to_dict()


# -- terminal text -------------------------------------------------------------------------
_MARK_ON, _MARK_OFF, _DIM, _RESET = "\033[1;31m", "\033[0m", "\033[2m", "\033[0m"


def _marked(text: str, flags: list[Flag], color: bool) -> str:
    out, pos = [], 0
    for f in sorted(flags, key=lambda f: f.start):
        out.append(text[pos:f.start])
        out.append(f"{_MARK_ON}{f.text}{_MARK_OFF}" if color else f"【{f.text}】")
        pos = f.end
    out.append(text[pos:])
    return "".join(out)


def to_text(a: CallAnalysis, color: bool = False) -> str:
    t = a.transcript
    names = load_categories()
    dim = (lambda s: f"{_DIM}{s}{_RESET}") if color else (lambda s: s)
    s = a.summary
    lines = [f"{t.source} · {t.format} · {t.encoding} · {t.script}"]
    width = max((len(turn.speaker) for turn in t.turns), default=0)
    for turn in t.turns:
        when = f"[{_clock(turn.start_time)}] " if turn.start_time is not None else ""
        lines.append(f"{turn.index:>3} {when}{turn.speaker:<{width}}  {_marked(turn.text, turn.flags, color)}")
        for f in turn.flags:
            cat = names[f.category].name_zh if f.category in names else f.category
            lines.append(f"      ⚑ {cat} {f.category} · {f.confidence:.2f} · {f.rule}")
            lines.append(dim(f"        {f.principle}"))
            lines.append(f"        → {f.rewrite}")
            if len(f.suggestions) > 1:
                lines.append(dim("        其他说法 / other wordings: " + " · ".join(f.suggestions[1:])))
    lines.append(
        f"坐席 {s['agent_turns']} 句 · 客户 {s['customer_turns']} 句 · 导火索 {s['flags']} 处 "
        f"({_shown(s['flags_per_100_agent_turns'])} / 100 agent turns)"
    )
    return "\n".join(lines) + "\n"


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return ""
    m, sec = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h:02d}:{m:02d}:{sec:02d}"


# -- one self-contained HTML page ----------------------------------------------------------
# The same words, scorecard and mood chart as the web's call page (analyzer.labels, analyzer.charts).
_CSS = """
body{font-family:system-ui,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2rem auto;max-width:60rem;color:#222;line-height:1.6;padding:0 1rem}
h1{font-size:1.3rem} h2{font-size:1.1rem;margin-top:1.6rem;border-bottom:1px solid #ddd} .meta{color:#666}
.turn{display:flex;gap:1rem;padding:.4rem 0;border-bottom:1px solid #eee}
.who{min-width:7rem;color:#555} .agent .who{color:#0b5394} .customer .who{color:#38761d}
.text{flex:1} mark{background:#fde2e1;border-bottom:2px solid #c0392b;padding:0 .1em}
.flag{margin:.3rem 0 .3rem 0;padding:.4rem .6rem;background:#fafafa;border-left:3px solid #c0392b;font-size:.9rem}
.flag .cat{font-weight:600} .flag .rw{color:#1e7e34} .summary{margin-top:1.5rem;padding:.6rem;background:#f3f6fa}
.sc{border-collapse:collapse;width:100%;font-size:.9rem;margin-top:.6rem}.sc td,.sc th{border-bottom:1px solid #eee;padding:.25rem .4rem;vertical-align:top;text-align:left}
.sc th{background:#f3f6fa}.ptrue td:first-child{color:#1e7e34}.pfalse td:first-child{color:#c0392b}.pnone td:first-child{color:#999}
small,.src{color:#666}.src{font-size:.8rem} .chart svg{max-width:100%;height:auto}
"""
_WORDS = {  # the page's fixed words, 中文 first
    "agent": "坐席 / agent", "employee": "工号", "started": "开始时间 / started", "channel": "渠道 / channel",
    "duration": "时长 / duration", "turns": "话轮 / turns", "call": "电话 / call", "chat": "在线聊天 / chat",
    "suggested": "建议说法 / suggested", "others": "其他说法 / other wordings", "confidence": "置信度",
    "scorecard": "评分卡 / scorecard", "mood": "客户情绪 / customer mood", "back": "← 报告 / report",
    "satisfaction": "满意度 / satisfaction", "no_mood": "无情绪数据 / no sentiment",
    "escalations": "情绪升级 / escalations", "turn": "第 {n} 句", "resolved": "已平复", "unresolved": "未平复",
    "angry": "客户发怒", "item": "评分项 / item", "value": "结果 / value", "source": "依据（手册章节） / handbook",
}


def _turn_html(turn: Turn) -> str:
    text, pos, parts = turn.text, 0, []
    for i, f in enumerate(sorted(turn.flags, key=lambda f: f.start)):
        parts.append(html.escape(text[pos:f.start]))
        parts.append(f'<mark id="t{turn.index}f{i}" title="{html.escape(category_name(f.category))}">'
                     f"{html.escape(f.text)}</mark>")
        pos = f.end
    parts.append(html.escape(text[pos:]))
    notes = []
    for f in turn.flags:
        others = "".join(f"<li>{html.escape(s)}</li>" for s in f.suggestions[1:])
        notes.append(
            f'<div class="flag"><span class="cat">{html.escape(category_name(f.category))}</span>'
            f' <small>{html.escape(category_name(f.category, "en"))} · {_WORDS["confidence"]} {percent(f.confidence)}</small>'
            f"<br>{html.escape(f.principle)}<br>"
            f'{_WORDS["suggested"]}: <span class="rw">{html.escape(f.rewrite)}</span>'
            + (f"<br><small>{_WORDS['others']}:</small><ul>{others}</ul>" if others else "") + "</div>"
        )
    return (
        f'<div class="turn {html.escape(turn.role)}" id="turn-{turn.index}"><div class="who">{html.escape(turn.speaker)}'
        + (f'<br><small>{_clock(turn.start_time)}</small>' if turn.start_time is not None else "") + '</div>'
        f'<div class="text">{"".join(parts)}{"".join(notes)}</div></div>'
    )


def _meta(a: CallAnalysis) -> str:
    t, call = a.transcript, a.call or {}
    agent = call.get("agent") or {}
    times = [x for turn in t.turns for x in (turn.start_time, turn.end_time) if x is not None]
    shown = []
    if agent.get("name") or agent.get("employee_id"):
        who = agent.get("name") or ""
        who += f"（{_WORDS['employee']} {agent['employee_id']}）" if agent.get("employee_id") else ""
        shown.append(f"{_WORDS['agent']}: {html.escape(who.strip())}")
    if call.get("started_at"):
        shown.append(f"{_WORDS['started']}: {html.escape(str(call['started_at']).replace('T', ' '))}")
    channel = call.get("channel") or (a.scorecard or {}).get("channel")
    if channel:
        shown.append(f"{_WORDS['channel']}: {html.escape(_WORDS.get(channel, channel))}")
    if len(times) > 1:
        shown.append(f"{_WORDS['duration']}: {_clock(max(times) - min(times))}")
    shown.append(f"{_WORDS['turns']}: {len(t.turns)}")
    return " · ".join(shown)


def to_html(a: CallAnalysis, *, back_link: str | None = None) -> str:
    """The annotated call: when and with whom, the customer's mood as a chart, turns with their
    times, flags and rewrites, then the scorecard with its handbook sections (the same page for
    ``huashu analyze --format html`` and the call pages of ``huashu report``)."""
    t = a.transcript
    s = a.summary
    body = "\n".join(_turn_html(turn) for turn in t.turns)
    back = f'<p><a href="{html.escape(back_link)}">{_WORDS["back"]}</a></p>' if back_link else ""
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>话术 Huashu · {html.escape(t.source)}</title>
<style>{_CSS}</style></head><body>
{back}<h1>话术 Huashu · {html.escape(t.source)}</h1>
<p class="meta">{_meta(a)}</p>
{_mood_html(a)}
<h2>对话 / conversation</h2>
{body}
<div class="summary">坐席发言 / agent turns: {s['agent_turns']} · 客户发言 / customer turns: {s['customer_turns']} ·
导火索 / triggers: {s['flags']}（每百句坐席发言 {_shown(s['flags_per_100_agent_turns'])} / per 100 agent turns）</div>
{_scorecard_html(a)}
</body></html>
"""


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def mood_chart(a: CallAnalysis) -> str:
    """The customer's mood over the turns (SVG, ``analyzer.charts.mood``), agent triggers marked."""
    series = [(p["turn"], max(-1.0, min(1.0, float(p["mood"]))), bool(p.get("anger")))
              for p in (a.mood or {}).get("series") or []]
    triggers = [turn.index for turn in a.transcript.turns if turn.role == AGENT and turn.flags]
    return str(charts.mood(
        series, turns=len(a.transcript.turns), triggers=triggers, name="mood", title="客户情绪走势 / the customer's mood",
        empty_text=_WORDS["no_mood"],
        labels={"positive": "正面", "negative": "负面", "trigger": "坐席导火索", "turn": "话轮"},
    ))


def _mood_html(a: CallAnalysis) -> str:
    mood = a.mood or {}
    sat = mood.get("satisfaction")
    escalations = "".join(
        f"<li><a href='#turn-{e['customer_turn']}'>{_WORDS['turn'].format(n=e['customer_turn'])}</a>："
        f"{html.escape('、'.join(dict.fromkeys(category_name(f['category']) for f in e['flags'] if 'category' in f)))}"
        f" 之后情绪 {e['before']:+.2f} → {e['after']:+.2f}"
        f"{'，' + _WORDS['angry'] if e['anger'] else ''}，{_WORDS['resolved'] if e['resolved'] else _WORDS['unresolved']}</li>"
        for e in mood.get("escalations") or [])
    return (f"<h2>{_WORDS['mood']}</h2><p>{_WORDS['satisfaction']}: {'—' if sat is None else f'{sat:.2f}'}</p>"
            f"<div class='chart'>{mood_chart(a)}</div>"
            + (f"<p>{_WORDS['escalations']}:</p><ul>{escalations}</ul>" if escalations else ""))


def _scorecard_html(a: CallAnalysis) -> str:
    card = a.scorecard
    if not card:
        return ""
    mark = {True: "✔", False: "✘", None: "—"}
    rows = "".join(
        f"<tr class='p{str(r['passed']).lower()}' data-item='{html.escape(r['id'])}'><td>{mark[r['passed']]} {html.escape(r['status'])}</td>"
        f"<td>{html.escape(r['label'])}<br><small>{html.escape(r['label_other'])}</small></td>"
        f"<td>{html.escape(r['value'])}" + (f"<br><small>{html.escape(r['note'])}</small>" if r["note"] else "")
        + f"</td><td class='src'>{html.escape(r['source'])}</td></tr>"
        for r in scorecard_rows(card)
    )
    score = card.get("score")
    return f"""<h2>{_WORDS['scorecard']}</h2>
<p>达标率 / score: {percent(score)} · 通过 / passed {card['passed']} · 未通过 / failed {card['failed']}
 · 不适用 / n/a {card['not_applicable']}</p>
<table class="sc"><tr><th></th><th>{_WORDS['item']}</th><th>{_WORDS['value']}</th><th>{_WORDS['source']}</th></tr>{rows}</table>
"""

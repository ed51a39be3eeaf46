"""An analysed call (``analyzer.model.CallAnalysis``) as JSON (the shape of docs/interfaces.md), terminal
text, or one self-contained HTML page."""
from __future__ import annotations

import html
from typing import Any

from .lexicon import load_categories
from .model import CallAnalysis, Flag, Turn


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
_CSS = """
body{font-family:system-ui,"PingFang SC","Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2rem auto;max-width:60rem;color:#222;line-height:1.6}
h1{font-size:1.3rem} .meta{color:#666} .turn{display:flex;gap:1rem;padding:.4rem 0;border-bottom:1px solid #eee}
.who{min-width:7rem;color:#555} .agent .who{color:#0b5394} .customer .who{color:#38761d}
.text{flex:1} mark{background:#fde2e1;border-bottom:2px solid #c0392b;padding:0 .1em}
.flag{margin:.3rem 0 .3rem 0;padding:.4rem .6rem;background:#fafafa;border-left:3px solid #c0392b;font-size:.9rem}
.flag .cat{font-weight:600} .flag .rw{color:#1e7e34} .summary{margin-top:1.5rem;padding:.6rem;background:#f3f6fa}
"""


def _turn_html(turn: Turn, names: dict) -> str:
    text, pos, parts = turn.text, 0, []
    for i, f in enumerate(sorted(turn.flags, key=lambda f: f.start)):
        parts.append(html.escape(text[pos:f.start]))
        parts.append(f'<mark id="t{turn.index}f{i}" title="{html.escape(f.category)}">{html.escape(f.text)}</mark>')
        pos = f.end
    parts.append(html.escape(text[pos:]))
    notes = []
    for f in turn.flags:
        cat = names[f.category].name_zh if f.category in names else f.category
        others = "".join(f"<li>{html.escape(s)}</li>" for s in f.suggestions[1:])
        notes.append(
            f'<div class="flag"><span class="cat">{html.escape(cat)} · {html.escape(f.category)}</span>'
            f" · {f.confidence:.2f} · <code>{html.escape(f.rule)}</code><br>{html.escape(f.principle)}<br>"
            f'建议 / suggested: <span class="rw">{html.escape(f.rewrite)}</span>'
            + (f"<ul>{others}</ul>" if others else "") + "</div>"
        )
    return (
        f'<div class="turn {html.escape(turn.role)}"><div class="who">{html.escape(turn.speaker)}'
        + (f'<br><small>{_clock(turn.start_time)}</small>' if turn.start_time is not None else "") + '</div>'
        f'<div class="text">{"".join(parts)}{"".join(notes)}</div></div>'
    )


def to_html(a: CallAnalysis, *, back_link: str | None = None) -> str:
    """The annotated call: turns with their times, flags and rewrites, then the scorecard and the
    customer's mood (the same page for ``huashu analyze --format html`` and batch reports)."""
    t = a.transcript
    names = load_categories()
    s = a.summary
    body = "\n".join(_turn_html(turn, names) for turn in t.turns)
    agent = (a.call.get("agent") or {}).get("name")
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>话术 Huashu · {html.escape(t.source)}</title>
<style>{_CSS}</style></head><body>
<h1>话术 Huashu · {html.escape(t.source)}</h1>
<p class="meta">{html.escape(t.format)} · {html.escape(t.encoding)} · {html.escape(t.script)}{
    (' · 坐席 / agent ' + html.escape(agent)) if agent else ''}</p>
{body}
<div class="summary">坐席 / agent turns: {s['agent_turns']} · 客户 / customer turns: {s['customer_turns']} ·
导火索 / triggers: {s['flags']} ({_shown(s['flags_per_100_agent_turns'])} / 100 agent turns)</div>
{_scorecard_html(a, back_link)}
</body></html>
"""


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _scorecard_html(a: CallAnalysis, back_link: str | None) -> str:
    card, mood = a.scorecard, a.mood
    if not card:
        return ""
    mark = {True: "✔", False: "✘", None: "—"}
    rows = "".join(
        f"<tr class='p{str(item['passed']).lower()}'><td>{mark[item['passed']]}</td>"
        f"<td>{html.escape(item['label_zh'])}<br><small>{html.escape(item['label_en'])}</small></td>"
        f"<td>{html.escape(_shown(item['value']))}</td><td><small>{html.escape(item['source'])}</small></td></tr>"
        for item in card["items"]
    )
    sat = mood["satisfaction"]
    series = " ".join(f"{p['turn']}:{p['mood']:+.2f}{'!' if p['anger'] else ''}" for p in mood["series"])
    escalations = "".join(
        f"<li>turn {e['customer_turn']} ← {html.escape(', '.join(f['rule'] for f in e['flags']))}: "
        f"{e['before']:+.2f} → {e['after']:+.2f}{' · angry' if e['anger'] else ''}"
        f"{'' if e['resolved'] else ' · unresolved'}</li>" for e in mood["escalations"])
    back = f'<a href="{html.escape(back_link)}">← 报告 / report</a> · ' if back_link else ""
    return f"""<style>.sc{{border-collapse:collapse;width:100%;font-size:.9rem;margin-top:1rem}}.sc td{{border-bottom:1px solid #eee;padding:.25rem .4rem;vertical-align:top}}
.ptrue td:first-child{{color:#1e7e34}}.pfalse td:first-child{{color:#c0392b}}.pnone td:first-child{{color:#999}}</style>
<h2>评分卡 / scorecard</h2>
<p>{back}通过 / passed {card['passed']} · 未通过 / failed {card['failed']}
 · 不适用 / n/a {card['not_applicable']} · channel {html.escape(card['channel'])}</p>
<table class="sc">{rows}</table>
<h2>客户情绪 / customer mood</h2>
<p>满意度 / satisfaction: {'—' if sat is None else f'{sat:.2f}'} · {html.escape(series) or '无情绪数据 / no sentiment'}</p>
{f'<ul>{escalations}</ul>' if escalations else ''}
"""

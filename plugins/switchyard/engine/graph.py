"""Pictures of a model: Mermaid text and a self-contained SVG with a verdict drawn on it.

The SVG needs no renderer (no browser, no JavaScript): components are laid out in layers by their
distance from the entry point, dependencies are drawn top to bottom, the failure chain in red,
failing components red, healthy green, unknown amber, unobserved grey.
"""

from __future__ import annotations

import itertools
from html import escape

from switchyard.engine.model import Model
from switchyard.engine.reasoning import Health

_FILL = {"failing": "#fde2e1", "healthy": "#e3f5e1", "unknown": "#fff4d6", "unobserved": "#f1f1f1"}
_STROKE = {"failing": "#c62828", "healthy": "#2e7d32", "unknown": "#b26a00", "unobserved": "#9e9e9e"}


def _status(health: Health | None) -> str:
    if health is None or not health.observed:
        return "unobserved"
    if health.failing:
        return "failing"
    if health.eliminated:
        return "healthy"
    return "unknown"


def layers(model: Model) -> list[list[str]]:
    """Components by depth (longest distance from any root), roots first, declaration order within."""
    depth: dict[str, int] = {}

    def visit(name: str, trail: frozenset[str]) -> None:
        for target in model.components[name].depends_on:
            if target in model.components and target not in trail and depth.get(target, -1) < depth[name] + 1:
                depth[target] = depth[name] + 1
                visit(target, trail | {target})

    targets = {t for c in model.components.values() for t in c.depends_on}
    for name in model.components:
        if name not in targets:
            depth.setdefault(name, 0)
            visit(name, frozenset({name}))
    for name in model.components:
        depth.setdefault(name, 0)
    out: list[list[str]] = [[] for _ in range(max(depth.values(), default=0) + 1)]
    for name in model.components:
        out[depth[name]].append(name)
    return out


def mermaid(model: Model, chain: list[str] = (), health: dict[str, Health] | None = None) -> str:
    health = health or {}
    ids = {name: f"n{i}" for i, name in enumerate(model.components)}
    lines = ["graph TD"]
    for name, comp in model.components.items():
        lines.append(f'  {ids[name]}["{name}<br/><small>{comp.type}</small>"]:::{_status(health.get(name))}')
    on_chain = set(itertools.pairwise(chain))
    link = 0
    red = []
    for name, comp in model.components.items():
        for target in comp.depends_on:
            if target in ids:
                lines.append(f"  {ids[name]} --> {ids[target]}")
                if (name, target) in on_chain:
                    red.append(link)
                link += 1
    for status, colour in _STROKE.items():
        lines.append(f"  classDef {status} fill:{_FILL[status]},stroke:{colour}")
    if red:
        lines.append(f"  linkStyle {','.join(map(str, red))} stroke:#c62828,stroke-width:3px")
    return "\n".join(lines) + "\n"


def svg(model: Model, chain: list[str] = (), health: dict[str, Health] | None = None, title: str = "") -> str:
    health = health or {}
    rows = layers(model)
    box_w, box_h, gap_x, gap_y, margin = 190, 44, 24, 56, 20
    width = max(len(r) for r in rows) * (box_w + gap_x) - gap_x + 2 * margin
    top = margin + (28 if title else 0)
    height = top + len(rows) * (box_h + gap_y) - gap_y + margin + 24
    pos: dict[str, tuple[float, float]] = {}
    for r, row in enumerate(rows):
        row_w = len(row) * (box_w + gap_x) - gap_x
        x0 = (width - row_w) / 2
        for i, name in enumerate(row):
            pos[name] = (x0 + i * (box_w + gap_x), top + r * (box_h + gap_y))
    on_chain = set(itertools.pairwise(chain))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="sans-serif" font-size="12">',
        "<defs>",
        '<marker id="a" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#777"/></marker>',
        '<marker id="r" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" '
        'orient="auto-start-reverse"><path d="M0,0L10,5L0,10z" fill="#c62828"/></marker>',
        "</defs>",
        '<rect width="100%" height="100%" fill="white"/>',
    ]
    if title:
        parts.append(
            f'<text x="{margin}" y="{margin + 12}" font-size="14" font-weight="bold">{escape(title)}</text>'
        )
    for name, comp in model.components.items():
        for target in comp.depends_on:
            if target not in pos:
                continue
            (x1, y1), (x2, y2) = pos[name], pos[target]
            hot = (name, target) in on_chain
            parts.append(
                f'<line x1="{x1 + box_w / 2:.0f}" y1="{y1 + box_h:.0f}" x2="{x2 + box_w / 2:.0f}" y2="{y2:.0f}" '
                f'stroke="{"#c62828" if hot else "#bbb"}" stroke-width="{3 if hot else 1}" '
                f'marker-end="url(#{"r" if hot else "a"})"/>'
            )
    for name, (x, y) in pos.items():
        status = _status(health.get(name))
        h = health.get(name)
        state = h.state if h and h.observed else ""
        width_stroke = 3 if name in chain else 1
        parts.append(
            f"<g><title>{escape(name)}: {status}{' (' + escape(state) + ')' if state else ''}</title>"
            f'<rect x="{x:.0f}" y="{y:.0f}" width="{box_w}" height="{box_h}" rx="6" fill="{_FILL[status]}" '
            f'stroke="{_STROKE[status]}" stroke-width="{width_stroke}"/>'
            f'<text x="{x + box_w / 2:.0f}" y="{y + 18:.0f}" text-anchor="middle" font-weight="bold">{escape(name)}</text>'
            f'<text x="{x + box_w / 2:.0f}" y="{y + 34:.0f}" text-anchor="middle" fill="#555">'
            f"{escape(model.components[name].type)}{' · ' + escape(state) if state else ''}</text></g>"
        )
    legend_y = height - margin
    lx = margin
    for status in ("failing", "healthy", "unknown", "unobserved"):
        parts.append(
            f'<rect x="{lx}" y="{legend_y - 10}" width="12" height="12" fill="{_FILL[status]}" stroke="{_STROKE[status]}"/>'
        )
        parts.append(f'<text x="{lx + 16}" y="{legend_y}">{status}</text>')
        lx += 100
    parts.append(f'<text x="{lx}" y="{legend_y}" fill="#c62828">━ failure chain</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"

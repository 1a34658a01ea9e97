"""Pictures of a model: Mermaid text and a self-contained SVG with a verdict drawn on it.

The SVG needs no renderer (no browser, no JavaScript): components are laid out in layers by their
distance from the entry point, ordered within a layer to keep edges from crossing (``layout``),
dependencies are drawn top to bottom (long ones bend around boxes), the failure chain in red,
failing components red, healthy green, unknown amber, unobserved grey.
"""

from __future__ import annotations

import itertools
import textwrap
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Layout:
    """Layers top to bottom, each in drawing order. An edge spanning several layers runs through
    virtual points (``("name", "target", i)``), one per layer it crosses, so it bends around boxes
    and its crossings are counted and reduced like those of any other edge."""

    rows: list[list[str | tuple[str, str, int]]]
    routes: dict[tuple[str, str], list[str | tuple[str, str, int]]]  # edge → points, source to target

    def crossings(self) -> int:
        return sum(
            _crossings(self.rows[i], self.rows[i + 1], self._segments()) for i in range(len(self.rows) - 1)
        )

    def _segments(self) -> list[tuple[object, object]]:
        return [pair for points in self.routes.values() for pair in itertools.pairwise(points)]


def layout(model: Model, sweeps: int = 12) -> Layout:
    """Sugiyama-style: layers by longest distance from a root, each component then moved down to just
    above its nearest dependency, virtual points on long edges, then
    barycenter sweeps down and up with adjacent swaps, keeping the order with fewest crossings."""
    depth = {name: i for i, row in enumerate(layers(model)) for name in row}
    # Then each component as low as its dependencies allow (just above the highest of them), so
    # the workers, cron and their processes sit beside the data layer, not across the whole picture.
    for name in sorted(depth, key=lambda n: -depth[n]):
        below = [depth[t] for t in model.components[name].depends_on if t in depth and depth[t] > depth[name]]
        if below:
            depth[name] = min(below) - 1
    rows: list[list[object]] = [[] for _ in range(max(depth.values(), default=0) + 1)]
    for name in model.components:
        rows[depth[name]].append(name)
    routes: dict[tuple[str, str], list[object]] = {}
    for name, comp in model.components.items():
        for target in comp.depends_on:
            if target not in depth or target == name:
                continue
            points: list[object] = [name]
            if depth[target] > depth[name] + 1:
                for layer in range(depth[name] + 1, depth[target]):
                    virtual = (name, target, layer)
                    rows[layer].append(virtual)
                    points.append(virtual)
            points.append(target)
            routes[(name, target)] = points
    segments = [pair for points in routes.values() for pair in itertools.pairwise(points)]
    up: dict[object, list[object]] = {}
    down: dict[object, list[object]] = {}
    for a, b in segments:
        down.setdefault(a, []).append(b)
        up.setdefault(b, []).append(a)

    def total(order: list[list[object]]) -> int:
        return sum(_crossings(order[i], order[i + 1], segments) for i in range(len(order) - 1))

    best, best_count = [list(r) for r in rows], total(rows)
    for sweep in range(sweeps):
        forward = sweep % 2 == 0
        indices = range(1, len(rows)) if forward else range(len(rows) - 2, -1, -1)
        for i in indices:
            ref = rows[i - 1] if forward else rows[i + 1]
            where = {n: k for k, n in enumerate(ref)}
            neighbours = up if forward else down
            current = {n: k for k, n in enumerate(rows[i])}

            def centre(n: object, where=where, neighbours=neighbours, current=current) -> float:
                linked = [where[m] for m in neighbours.get(n, []) if m in where]
                return sum(linked) / len(linked) if linked else current[n]

            rows[i].sort(key=centre)
        for i in range(len(rows)):  # adjacent swaps that remove crossings
            improved = True
            while improved:
                improved = False
                for k in range(len(rows[i]) - 1):
                    before = _local(rows, i, segments)
                    rows[i][k], rows[i][k + 1] = rows[i][k + 1], rows[i][k]
                    if _local(rows, i, segments) < before:
                        improved = True
                    else:
                        rows[i][k], rows[i][k + 1] = rows[i][k + 1], rows[i][k]
        count = total(rows)
        if count < best_count:
            best, best_count = [list(r) for r in rows], count
    return Layout(best, routes)


def _local(rows: list[list[object]], i: int, segments: list[tuple[object, object]]) -> int:
    above = _crossings(rows[i - 1], rows[i], segments) if i > 0 else 0
    below = _crossings(rows[i], rows[i + 1], segments) if i + 1 < len(rows) else 0
    return above + below


def _crossings(upper: list[object], lower: list[object], segments: list[tuple[object, object]]) -> int:
    top = {n: k for k, n in enumerate(upper)}
    bottom = {n: k for k, n in enumerate(lower)}
    pairs = [(top[a], bottom[b]) for a, b in segments if a in top and b in bottom]
    return sum(1 for (a1, b1), (a2, b2) in itertools.combinations(pairs, 2) if (a1 - a2) * (b1 - b2) < 0)


def wrap(text: str, width: int) -> list[str]:
    """Words into lines of at most ``width`` characters (a longer word gets a line of its own)."""
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


def svg(model: Model, chain: list[str] = (), health: dict[str, Health] | None = None, title: str = "") -> str:
    health = health or {}
    plan = layout(model)
    rows = plan.rows
    longest = max((len(n) for n in model.components), default=0)
    box_w, box_h, gap_x, gap_y, margin, lane = max(190, 8 * longest + 16), 44, 24, 56, 20, 16
    slot = {n: (box_w if isinstance(n, str) else lane) for row in rows for n in row}
    row_widths = [sum(slot[n] + gap_x for n in row) - gap_x for row in rows] or [0]
    width = max(max(row_widths), 4 * 100 + 120) + 2 * margin
    title_lines = wrap(title, max(20, int((width - 2 * margin) / 8))) if title else []
    top = margin + 20 * len(title_lines) + (8 if title else 0)
    height = top + len(rows) * (box_h + gap_y) - gap_y + margin + 24
    pos: dict[object, tuple[float, float]] = {}
    for r, row in enumerate(rows):
        x = (width - row_widths[r]) / 2
        for name in row:
            pos[name] = (x, top + r * (box_h + gap_y))
            x += slot[name] + gap_x
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
        lines = "".join(
            f'<tspan x="{margin}" dy="{0 if i == 0 else 20}">{escape(line)}</tspan>'
            for i, line in enumerate(title_lines)
        )
        parts.append(f'<text x="{margin}" y="{margin + 12}" font-size="14" font-weight="bold">{lines}</text>')
    hot_edges = [e for e in plan.routes if e in on_chain]
    for edge in [e for e in plan.routes if e not in on_chain] + hot_edges:  # the chain drawn on top
        points = []
        for k, point in enumerate(plan.routes[edge]):
            x, y = pos[point]
            centre = x + slot[point] / 2 if not isinstance(point, str) else x + box_w / 2
            if isinstance(point, str):
                points.append((centre, y + box_h) if k == 0 else (centre, y))
            else:  # a virtual point: straight down through its lane
                points += [(centre, y), (centre, y + box_h)]
        hot = edge in on_chain
        style = (
            f'stroke="{"#c62828" if hot else "#bbb"}" stroke-width="{3 if hot else 1}" '
            f'marker-end="url(#{"r" if hot else "a"})"'
        )
        if len(points) == 2:  # next layer: a line
            (x1, y1), (x2, y2) = points
            parts.append(f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" {style}/>')
        else:  # bent through virtual points around the layers between
            d = "M" + " L".join(f"{px:.0f},{py:.0f}" for px, py in points)
            parts.append(f'<path d="{d}" fill="none" {style}/>')
    for name, (x, y) in ((n, p) for n, p in pos.items() if isinstance(n, str)):
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

"""The model graph is layered (every edge points down, one layer at a time through bends) with few
crossings, and a long title wraps instead of running off the picture."""

from __future__ import annotations

import itertools
import re
from html import unescape

from switchyard.engine import graph
from switchyard.engine.catalog import load_catalog
from switchyard.engine.model import load_model


def _model(tmp_path, components: str):
    path = tmp_path / "m.yaml"
    path.write_text("meta: {name: t, version: '1', providers: [kubernetes]}\ncomponents:\n" + components)
    return load_model(path, load_catalog(use_env=False))


def test_acme_shop_has_a_third_fewer_crossings_than_in_declaration_order(acme):
    declared = graph.layout(acme, sweeps=0).crossings()
    ordered = graph.layout(acme).crossings()
    assert (declared, ordered) == (
        102,
        69,
    )  # php-fpm, consumers and cron share most targets: many are inherent


def test_every_edge_runs_down_one_layer_per_step(acme):
    plan = graph.layout(acme)
    layer = {point: i for i, row in enumerate(plan.rows) for point in row}
    assert {e for e in plan.routes} == {(n, t) for n, c in acme.components.items() for t in c.depends_on}
    for edge, points in plan.routes.items():
        steps = [layer[b] - layer[a] for a, b in itertools.pairwise(points)]
        assert steps and all(step == 1 for step in steps), (edge, steps)
    assert sorted(p for row in plan.rows for p in row if isinstance(p, str)) == sorted(acme.components)


def test_two_crossed_pairs_are_uncrossed(tmp_path):
    model = _model(
        tmp_path,
        "  a: {type: service, depends: [{on: d}]}\n"
        "  b: {type: service, depends: [{on: c}]}\n"
        "  c: {type: deployment}\n"
        "  d: {type: deployment}\n",
    )
    assert graph.layout(model, sweeps=0).crossings() == 1
    plan = graph.layout(model)
    assert plan.crossings() == 0
    assert plan.rows == [["a", "b"], ["d", "c"]]


def test_a_long_title_wraps_within_the_picture(tmp_path):
    model = _model(tmp_path, "  web: {type: service, depends: [{on: app}]}\n  app: {type: deployment}\n")
    title = (
        "tiny: release #4 v3 (rolled back), root cause app — readiness failing on every pod since the switch"
    )
    drawn = graph.svg(model, ["web", "app"], title=title)
    width = float(re.search(r'width="(\d+)"', drawn).group(1))
    lines = [unescape(t) for t in re.findall(r"<tspan[^>]*>([^<]*)</tspan>", drawn)]
    assert len(lines) >= 2
    assert " ".join(lines) == title  # nothing cut
    assert all(20 + len(line) * 8 <= width for line in lines)  # 8 px a character at 14 px bold
    assert drawn.count("<rect x=") - 4 == 2  # two boxes (and the four legend swatches), no virtual ones


def test_the_svg_draws_bends_for_long_edges(tmp_path):
    model = _model(
        tmp_path,
        "  a: {type: service, depends: [{on: b}, {on: c}]}\n"
        "  b: {type: deployment, depends: [{on: c}]}\n"
        "  c: {type: deployment}\n",
    )
    plan = graph.layout(model)
    assert len(plan.routes[("a", "c")]) == 3  # through one virtual point in b's layer
    drawn = graph.svg(model)
    paths = re.findall(r'<path d="([^"]+)" fill="none"', drawn)
    assert [p.count(" L") for p in paths] == [3]  # a → c bends; a → b and b → c are lines
    assert drawn.count("<line ") == 2

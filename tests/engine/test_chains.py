"""Failure-chain enumeration (rule S5) and drift between a written table and the model."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter

import pytest

from switchyard.cli import main
from switchyard.engine.catalog import load_catalog
from switchyard.engine.chains import (
    chain_id,
    chain_text,
    drift,
    enumerate_chains,
    read_table,
    table_path,
    write_table,
)
from switchyard.engine.model import load_model

from .conftest import MODEL


def _reference_enumeration(model):
    """Spec §5.1 written out independently, duplicates and all (the reference engine's table)."""

    def downs(name):
        return sorted(n for n, c in model.components.items() if name in c.depends_on)

    def extend(name, state, visited):
        if name in visited:
            return []
        t = model.components[name].type_def
        emits = t.failure_modes.get(state, [])
        dependents = downs(name)
        if not dependents:
            return [[(name, state, "")]] if t.facts else []
        chains = []
        for down in dependents:
            d = model.components[down].type_def
            for dstate in d.states:
                if dstate.name == d.default_state:
                    continue
                if dstate.triggered_by:
                    label = next((e for e in emits if e in dstate.triggered_by), "")
                else:
                    label = emits[0] if emits else ""
                if not label:
                    continue
                for suffix in extend(down, dstate.name, visited | {name}):
                    chains.append([(name, state, label), *suffix])
                if d.facts:
                    chains.append([(name, state, label), (down, dstate.name, "")])
        return chains

    out = []
    for name in sorted(model.components):
        t = model.components[name].type_def
        for state in t.states:
            if state.name != t.default_state:
                out.extend(extend(name, state.name, frozenset()))
    return out


def _as_tuples(chain):
    return tuple((s.component, s.state, s.emits) for s in chain)


@pytest.fixture(scope="module")
def chains(acme):
    return enumerate_chains(acme)


def test_reference_enumeration_has_12755_chains_with_3399_duplicates(acme):
    reference = _reference_enumeration(acme)
    assert len(reference) == 12_755
    assert dict(sorted(Counter(map(len, reference)).items())) == {
        1: 5,
        2: 327,
        3: 1003,
        4: 1720,
        5: 3100,
        6: 5400,
        7: 1200,
    }
    assert len(reference) - len({tuple(map(tuple, c)) for c in reference}) == 3_399


def test_acme_shop_has_9356_distinct_chains(acme, chains):
    assert len(chains) == 9_356 == 12_755 - 3_399
    assert dict(sorted(Counter(map(len, chains)).items())) == {
        1: 5,
        2: 307,
        3: 909,
        4: 1635,
        5: 2900,
        6: 3000,
        7: 600,
    }
    assert len(set(chains)) == len(chains)
    assert {_as_tuples(c) for c in chains} == {tuple(map(tuple, c)) for c in _reference_enumeration(acme)}


def test_chain_shape(acme, chains):
    assert [len(c) for c in chains] == sorted(len(c) for c in chains)  # shortest first
    one_step = sorted(chain_text(c) for c in chains if len(c) == 1)
    # only roots nothing depends on: the business processes (stopped) and cloudfront's two states
    assert one_step == [
        "async_jobs (stopped)",
        "cloudflare (stopped)",
        "cloudfront (deploying)",
        "cloudfront (disabled)",
        "scheduled_jobs (stopped)",
    ]
    for chain in chains:
        assert chain[-1].emits == "" and all(step.emits for step in chain[:-1])
        for step, nxt in itertools.pairwise(chain):
            assert step.component in acme.components[nxt.component].depends_on  # reverse edges
    # the one chain notation: the dependent first, each arrow "depends on", every step's state
    example = "external-secrets (crd_missing) → ssm-app-config (absent)"
    texts = [chain_text(c) for c in chains]
    assert example in texts
    assert len(set(texts)) == len(chains)  # the text still names one chain (the failure modes follow)


def test_ids_come_from_content():
    text = "acme-shop-php-fpm-blue (crashed) → rds (stopped)"
    assert chain_id(text) == chain_id(text)
    assert re.fullmatch(r"c-[0-9a-f]{12}", chain_id(text))
    assert chain_id(text) != chain_id(text.replace("crashed", "degraded"))


def _reordered_copy(tmp_path):
    """The same model with its components in reverse order (and scenarios drift-checked)."""
    lines = MODEL.read_text(encoding="utf-8").replace("  scenarios: none\n", "").splitlines(keepends=True)
    start = lines.index("components:\n") + 1
    end = next((i for i in range(start, len(lines)) if lines[i][:1] not in ("", " ", "#", "\n")), len(lines))
    blocks: list[list[str]] = []
    for line in lines[start:end]:
        if re.match(r"  [a-z]", line) or not blocks:
            blocks.append([])
        blocks[-1].append(line)
    body = "".join(line for block in reversed(blocks) for line in block)
    path = tmp_path / "reordered.model.yaml"
    path.write_text("".join(lines[:start]) + body + "".join(lines[end:]), encoding="utf-8")
    return path


def test_table_is_stable_when_components_are_reordered(tmp_path, acme):
    reordered = load_model(_reordered_copy(tmp_path), load_catalog(use_env=False))
    assert list(reordered.components) == list(reversed(acme.components))
    write_table(acme, tmp_path / "a.chains.yaml")
    write_table(reordered, tmp_path / "b.chains.yaml")
    hash_a, table_a = read_table(tmp_path / "a.chains.yaml")
    hash_b, table_b = read_table(tmp_path / "b.chains.yaml")
    assert table_a == table_b and len(table_a) == 9_356
    assert hash_a != hash_b  # the source changed, the chains did not
    result = drift(reordered, tmp_path / "a.chains.yaml")
    assert (result.drifted, result.stale_hash, result.added, result.removed) == (False, True, [], [])


def _drift_model(tmp_path, add_dependency=False, drop_dependency=False):
    text = MODEL.read_text(encoding="utf-8").replace("  scenarios: none\n", "")
    before = text
    if add_dependency:  # ssm-app-config reads a bootstrap file from the media bucket
        text = text.replace(
            "  ssm-app-config:\n    type: ssm_parameter\n",
            "  ssm-app-config:\n    type: ssm_parameter\n    depends:\n      - on: media-bucket\n",
        )
    if drop_dependency:  # cloudfront no longer serves from the bucket
        text = text.replace(
            "    resource: EABCDEF123456X\n    depends:\n      - on: media-bucket\n",
            "    resource: EABCDEF123456X\n",
        )
    assert (text != before) == (add_dependency or drop_dependency)
    path = tmp_path / "acme-shop.model.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_write_then_drift_reports_nothing(tmp_path, capsys):
    model_path = _drift_model(tmp_path)
    assert main(["scenarios", "write", "--model", str(model_path)]) == 0
    table = tmp_path / "acme-shop.chains.yaml"
    assert capsys.readouterr().out == f"wrote 9356 chains to {table}\n"
    assert table_path(load_model(model_path, load_catalog(use_env=False))) == table
    assert table.stat().st_size < 4_000_000
    assert main(["scenarios", "drift", "--model", str(model_path)]) == 0
    assert capsys.readouterr().out == f"{table}: up to date (0 added, 0 removed)\n"


def _drift_lines(capsys):
    out = capsys.readouterr().out.splitlines()
    added = [line[4:] for line in out if line.startswith("  + ")]
    removed = [line[4:] for line in out if line.startswith("  - ")]
    return out, added, removed


def test_changing_the_model_drifts_with_added_and_removed_chains(tmp_path, capsys):
    model_path = _drift_model(tmp_path)
    table = tmp_path / "acme-shop.chains.yaml"
    assert main(["scenarios", "write", "--model", str(model_path)]) == 0
    capsys.readouterr()

    _drift_model(tmp_path, add_dependency=True)
    assert main(["scenarios", "drift", "--model", str(model_path)]) == 1
    out, added, removed = _drift_lines(capsys)
    assert removed == []
    assert "ssm-app-config (absent) → media-bucket (inaccessible)" in added
    assert all("media-bucket" in text and "ssm-app-config" in text for text in added)
    assert out[-1] == f"{table}: drifted ({len(added)} added, 0 removed)"

    _drift_model(tmp_path, drop_dependency=True)
    assert main(["scenarios", "drift", "--model", str(model_path)]) == 1
    out, added, removed = _drift_lines(capsys)
    assert added == []
    assert removed == [
        "cloudfront (deploying) → media-bucket (inaccessible)",
        "cloudfront (disabled) → media-bucket (inaccessible)",
    ]

    _drift_model(tmp_path, add_dependency=True, drop_dependency=True)
    assert main(["scenarios", "drift", "--model", str(model_path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"table", "drifted", "stale_hash", "added", "removed"}
    assert report["drifted"] is True and report["stale_hash"] is True
    assert report["added"] and len(report["removed"]) == 2

    assert main(["scenarios", "write", "--model", str(model_path)]) == 0  # rewrite: clean again
    capsys.readouterr()
    assert main(["scenarios", "drift", "--model", str(model_path)]) == 0


def test_scenarios_none_skips_the_drift_check(tmp_path, capsys):
    # the shipped model says meta.scenarios: none: even a stale table is not checked
    (tmp_path / "acme-shop.model.yaml").write_text(MODEL.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "acme-shop.chains.yaml").write_text('source_hash: sha256:0\nchains:\n  c-x: "x.y"\n')
    assert main(["scenarios", "drift", "--model", str(tmp_path / "acme-shop.model.yaml")]) == 0
    assert capsys.readouterr().out == "meta.scenarios: none — drift check skipped\n"
    assert main(["scenarios", "write", "--model", str(tmp_path / "acme-shop.model.yaml")]) == 0
    captured = capsys.readouterr()
    assert "wrote 9356 chains" in captured.out
    assert "meta.scenarios: none" in captured.err


def test_drift_without_a_table_is_skipped(tmp_path, capsys):
    model_path = _drift_model(tmp_path)
    assert main(["scenarios", "drift", "--model", str(model_path)]) == 0
    assert "no chain table at" in capsys.readouterr().out


def test_a_corrupt_table_is_bad_input(tmp_path, capsys):
    model_path = _drift_model(tmp_path)
    (tmp_path / "acme-shop.chains.yaml").write_text("source_hash: x\nchains:\n  c-1: not json\n")
    assert main(["scenarios", "drift", "--model", str(model_path)]) == 2
    assert "not a chain table line" in capsys.readouterr().err

"""A model split over several files (a directory, or repeated --model) reads and reasons like one."""

from __future__ import annotations

import json

import pytest

from switchyard.cli import main
from switchyard.engine.catalog import load_catalog
from switchyard.engine.model import load_model
from switchyard.engine.scenarios import load_scenario
from switchyard.engine.simulate import run_scenario

from .conftest import MODEL, SCENARIOS


def _split(tmp_path, cuts=("  # Async workers", "  # AWS managed data layer")):
    """The acme-shop model cut at section comments: meta + first components, then the rest."""
    lines = MODEL.read_text(encoding="utf-8").splitlines(keepends=True)
    starts = [0] + [next(i for i, line in enumerate(lines) if line.startswith(cut)) for cut in cuts]
    directory = tmp_path / "acme-shop"
    directory.mkdir()
    files = []
    for number, (start, end) in enumerate(zip(starts, [*starts[1:], len(lines)], strict=True), 1):
        body = "".join(lines[start:end])
        path = directory / f"{number:02d}-part.yaml"
        path.write_text(body if number == 1 else "components:\n" + body, encoding="utf-8")
        files.append(path)
    return directory, files


@pytest.fixture
def split(tmp_path):
    return _split(tmp_path)


def test_split_model_has_the_same_components_in_the_same_order(acme, split):
    directory, files = split
    model = load_model(directory, load_catalog(use_env=False))
    assert len(files) == 3 and [f.name for f in model.files] == [f.name for f in files]
    assert list(model.components) == list(acme.components)
    assert [c.index for c in model.components.values()] == list(range(20))
    assert model.entry == acme.entry == "cloudflare"
    assert {n: c.depends_on for n, c in model.components.items()} == {
        n: c.depends_on for n, c in acme.components.items()
    }
    assert model.components["rds"].resource == "acme-shop-stage-rds"  # meta.vars reach other files


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.name)
def test_split_model_simulates_like_the_single_file(acme, split, path):
    directory, files = split
    for model in (
        load_model(directory, load_catalog(use_env=False)),
        load_model(files, load_catalog(use_env=False)),
    ):
        scenario = load_scenario(path, model)
        split_result, whole = run_scenario(model, scenario), run_scenario(acme, scenario)
        assert split_result.as_dict()["got"] == whole.as_dict()["got"]
        assert split_result.passed


def test_cli_takes_a_directory_or_repeated_model_files(split, capsys):
    directory, files = split
    assert main(["simulate", "--model", str(directory), "--all", str(SCENARIOS), "--json"]) == 0
    from_dir = json.loads(capsys.readouterr().out)
    args = ["simulate", *[a for f in files for a in ("--model", str(f))], "--all", str(SCENARIOS), "--json"]
    assert main(args) == 0
    from_files = json.loads(capsys.readouterr().out)
    assert from_dir == {**from_files}
    assert from_dir["passed"] == from_dir["total"] == len(list(SCENARIOS.glob("*.yaml")))
    assert main(["model", "validate", "--model", str(directory)]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "  20 components · 0 errors · 0 warnings"


def test_file_order_decides_declaration_order(tmp_path):
    """Sorted file names first, then line: moving the blue tier to a later file routes through green."""
    d = tmp_path / "m"
    d.mkdir()
    (d / "a.yaml").write_text(
        'meta: {name: t, version: "1", providers: [kubernetes, aws]}\n'
        "components:\n"
        "  entry: {type: service, depends: [{on: green}, {on: blue}]}\n"
        "  green: {type: deployment, depends: [{on: db}]}\n",
        encoding="utf-8",
    )
    (d / "b.yaml").write_text(
        "components:\n  blue: {type: deployment, depends: [{on: db}]}\n  db: {type: rds_instance}\n",
        encoding="utf-8",
    )
    model = load_model(d, load_catalog(use_env=False))
    assert list(model.components) == ["entry", "green", "blue", "db"]


def test_directory_without_model_files_is_bad_input(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["model", "validate", "--model", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds no *.yaml model files" in err

"""Issue 14: every hostile input ends in one clear line on stderr, exit 2, within bounded CPU time
and memory — the CLI runs in a child process under RLIMIT_CPU (2 s) and RLIMIT_AS (200 MB), so a
case that needs more is killed by the kernel and fails here. Figures: benchmarks/engine_bench.py."""

from __future__ import annotations

import pytest

from .hostile import CASES, run_limited


@pytest.mark.parametrize("case", sorted(CASES))
def test_hostile_input_ends_in_one_line_exit_2(tmp_path, case):
    argv = CASES[case](tmp_path)
    outcome = run_limited(argv, tmp_path)
    assert outcome.returncode == 2, (outcome.returncode, outcome.stderr[-2000:])
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), outcome.stderr[-2000:]
    assert outcome.stdout == ""
    assert all(c.isprintable() for c in lines[0])  # no raw newline, escape or control character


def test_the_messages_name_the_problem(tmp_path):
    expected = {
        "alias_bomb_model": "more than 100,000 YAML nodes once aliases are expanded",
        "alias_bomb_scenario": "more than 100,000 YAML nodes once aliases are expanded",
        "alias_bomb_type_file": "more than 100,000 YAML nodes once aliases are expanded",
        "recursive_alias": "recursive alias",
        "nested_flow_brackets": "YAML nested deeper than 64 levels",
        "nested_block_sequences": "YAML nested deeper than 64 levels",
        "nested_parentheses_rule": "more than 32 levels deep",
        "thousand_nots_rule": "over the 2,000 limit",  # 4,000 characters: refused before parsing
        "long_and_chain_rule": "over the 2,000 limit",
        "hundred_comparisons_rule": "more than 64 comparisons",
        "many_unknown_facts": "over the 2,000 limit",
        "fifty_megabyte_model": "52,428,800 bytes is over the 4,194,304-byte limit",
        "symlink_loop_model": "Too many levels of symbolic links",
        "dev_zero_model": "/dev/zero: not a regular file",
        "dev_zero_scenario": "/dev/zero: not a regular file",
        "scenarios_write_to_a_directory": "is a directory — give --out a file name",
        "negative_max_probes": "argument --max-probes: -5 must be at least 1",
        "name_with_newline": "component name 'web\\nERROR: forged' is not valid",
        "name_with_terminal_escape": "component name 'web\\x1b[2J' is not valid",
        "name_with_html": "component name '<script>alert(1)</script>' is not valid",
        "empty_name": "component name '' is not valid",
    }
    assert set(expected) == set(CASES)
    for case, fragment in expected.items():
        directory = tmp_path / case
        directory.mkdir()
        outcome = run_limited(CASES[case](directory), directory)
        assert fragment in outcome.stderr, (case, outcome.stderr)


def test_scenarios_write_to_a_directory_leaves_no_temporary_file(tmp_path):
    run_limited(CASES["scenarios_write_to_a_directory"](tmp_path), tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert list((tmp_path / "out").iterdir()) == []


def test_validate_reports_a_hostile_rule_once_in_bounded_output(tmp_path, write):
    """`model validate` lists a hostile rule as one problem (exit 1): its report stays small."""
    rule = " or ".join(f"nope{i % 7} > 1" for i in range(60))
    path = write(
        "m.yaml",
        f"""
        meta: {{name: m, version: "1", providers: [mgt-tool/kubernetes@^3.0.0]}}
        components:
          web: {{type: deployment, healthy: ["{rule}"]}}
        """,
    )
    outcome = run_limited(["model", "validate", "--model", str(path)], tmp_path)
    assert outcome.returncode == 1
    assert outcome.stdout.count("has no fact") == 7  # one problem per unknown fact, not per use
    assert len(outcome.stdout) < 6000

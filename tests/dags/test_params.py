"""The trigger form speaks plainly: every parameter of the release and rollback DAGs has a
description in words a release engineer needs no internal document for."""

from __future__ import annotations

import re

import pytest

from dags.release import release_params

INTERNAL = re.compile(r"seed \d|Flagger|runbook|\bXCom\b|task_id|_gate|\(\w+_\w+\)", re.IGNORECASE)


@pytest.mark.parametrize("rollback", [False, True], ids=["release", "rollback"])
def test_every_param_has_a_plain_description(rollback):
    params = release_params(rollback=rollback)
    assert params, "no params"
    for name, param in params.items():
        text = param.description or ""
        assert len(text.split()) >= 5, f"{name}: {text!r} says too little"
        assert not INTERNAL.search(text), f"{name}: {text!r} cites an internal reference"
        assert text.endswith("."), f"{name}: {text!r} is not a sentence"


def test_the_params_the_issue_found_undescribed_are_described():
    for rollback in (False, True):
        params = release_params(rollback=rollback)
        assert "become ready" in params["rollout_timeout_seconds"].description
        assert "How often" in params["watch_interval_seconds"].description

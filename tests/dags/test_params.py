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


def test_each_task_holds_its_own_copy_of_the_params_and_the_dag_serialises():
    """Params share their schema with their copies (parse time), never their value or source, and
    stay plain Params: Airflow serialises no other class."""
    import copy
    from pathlib import Path

    from airflow.sdk import Param
    from airflow.serialization.serialized_objects import DagSerialization

    from dags.release import release_dag

    dag = release_dag(Path(__file__).resolve().parents[2] / "include/models/acme-shop.model.yaml")
    mine = dag.params.get_param("grace_seconds")
    theirs = dag.task_dict["plan"].params.get_param("grace_seconds")
    assert theirs is not mine and theirs.schema is mine.schema and type(theirs) is Param
    theirs.resolve(value=5)  # the plan's copy went through three copies (one per __init__ level)
    assert (mine.value, theirs.value) == (120, 5)
    assert (mine.source, theirs.source) == (None, "dag")
    # the DAG's own params copy themselves directly (share_dag_params), the copies as plain Params
    copied = copy.deepcopy(dag.params)
    version = dag.params.get_param("version")
    assert copied.get_param("version") is not version and type(copied.get_param("version")) is Param
    assert copied.get_param("version").schema is version.schema
    assert type(dag.params._ParamsDict__dict).__name__ == "_ParamsSharingSchema"
    serialised = dict(DagSerialization.serialize_dag(dag)["params"])
    assert serialised["grace_seconds"]["default"] == 120
    assert serialised["version"]["schema"]["__var"]["pattern"]


def test_a_param_remembers_only_what_its_schema_accepted():
    """Validation answered from memory (the serialiser resolves every param of every task three
    times) still refuses what the schema refuses, every time, and never remembers a refusal."""
    from pathlib import Path

    from airflow.sdk.definitions.param import ParamValidationError

    from dags.release import release_dag

    dag = release_dag(Path(__file__).resolve().parents[2] / "include/models/acme-shop.model.yaml")
    grace = dag.task_dict["plan"].params.get_param("grace_seconds")
    assert grace.resolve(value=30) == 30 and grace.resolve(value=30) == 30
    for _ in range(2):
        with pytest.raises(ParamValidationError):
            grace.resolve(value=-1)
        assert grace.resolve(value=-1, suppress_exception=True) is None
        with pytest.raises(ParamValidationError):
            grace.resolve(value={1, 2})  # not JSON: Airflow's own check says so
    assert grace.value == 30  # a refused value is not kept
    version = dag.params.get_param("version")
    with pytest.raises(ParamValidationError):
        version.resolve(value="v2; rm -rf /")
    assert version.resolve(value="v2") == "v2"
    # the same value under another schema is checked on its own
    assert dag.task_dict["plan"].params.get_param("watch_minutes").resolve(value=30) == 30

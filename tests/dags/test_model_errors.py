"""A model that fails validation: its DAGs show the error at parse time and fail at once (no
retries), while the other models' DAGs load normally."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ACME = ROOT / "include" / "models" / "acme-shop.model.yaml"


def release_module():
    spec = importlib.util.spec_from_file_location(
        "switchyard_release_dags_under_test", ROOT / "dags" / "release.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_an_invalid_model_shows_its_error_on_its_dag_and_fails_without_retrying(tmp_path, airflow_db):
    from airflow.sdk.exceptions import AirflowFailException

    broken = tmp_path / "broken-shop.model.yaml"
    broken.write_text(
        ACME.read_text()
        .replace("name: acme-shop\n", "name: broken-shop\n", 1)
        .replace("      - on: acme-shop-ingress\n", "      - on: acme-shop-ingres\n", 1)
    )
    module = release_module()
    dag = module.release_dag(broken)
    assert dag.description.startswith("MODEL INVALID — fix broken-shop.model.yaml before releasing:")
    assert "acme-shop-ingres" in dag.description and "acme-shop-ingres" in dag.doc_md
    with pytest.raises(AirflowFailException, match=r"cannot be used: .*acme-shop-ingres"):
        dag.task_dict["lock"].spec  # noqa: B018 - the property loads the model
    healthy = module.release_dag(ACME)
    assert healthy.description == "Blue/green release of acme-shop" and not module.model_problem(ACME)

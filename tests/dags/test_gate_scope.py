"""A gate never passes on an empty or shrunken scope: no colour, an unknown colour, or names
its view does not have are errors, not a wider or smaller gate."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException

from switchyard.airflow.operators.gate import ModelGateOperator, gate_view

MODEL = str(Path(__file__).resolve().parents[2] / "include" / "models" / "acme-shop.model.yaml")


def gate(scope: str = "live") -> ModelGateOperator:
    return ModelGateOperator(task_id=f"gate_{scope}", model_path=MODEL, scope=scope)


@pytest.mark.parametrize(("scope", "colour"), [("live", ""), ("standby", ""), ("live", "purple")])
def test_a_colour_scope_without_a_colour_is_an_error_not_the_whole_model(scope, colour):
    with pytest.raises(AirflowFailException, match="needs the colour it is about"):
        gate_view(gate(scope).model, gate(scope).spec, scope, colour)


def test_a_colour_scope_vouches_for_names_its_view_has():
    view, vouch, _ = gate_view(gate("standby").model, gate("standby").spec, "standby", "green")
    assert vouch and all(name in view.components for name in vouch)

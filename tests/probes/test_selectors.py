"""Pods are matched to selectors in the probe (one LIST of a namespace's pods answers every
selector): the same answers the API server's label selectors give."""

from __future__ import annotations

import pytest
from kubernetes.client import V1LabelSelector, V1LabelSelectorRequirement

from switchyard.probes.kubernetes import selector_matches

POD = {"app": "acme-shop", "component": "php-fpm", "color": "blue"}


def expression(key, operator, values=None):
    return V1LabelSelectorRequirement(key=key, operator=operator, values=values)


@pytest.mark.parametrize(
    ("selector", "matches"),
    [
        ({"app": "acme-shop", "color": "blue"}, True),  # a Service's selector
        ({"app": "acme-shop", "color": "green"}, False),
        ({}, False),  # an empty selector selects nothing here (callers refuse it first)
        (V1LabelSelector(match_labels={"component": "php-fpm"}), True),
        (V1LabelSelector(match_labels={"component": "nginx"}), False),
        (V1LabelSelector(match_expressions=[expression("color", "In", ["blue", "green"])]), True),
        (V1LabelSelector(match_expressions=[expression("color", "NotIn", ["blue"])]), False),
        (V1LabelSelector(match_expressions=[expression("tier", "NotIn", ["web"])]), True),  # absent key
        (V1LabelSelector(match_expressions=[expression("color", "Exists")]), True),
        (V1LabelSelector(match_expressions=[expression("color", "DoesNotExist")]), False),
        (
            V1LabelSelector(
                match_labels={"app": "acme-shop"}, match_expressions=[expression("tier", "Exists")]
            ),
            False,
        ),
        (V1LabelSelector(), False),
        (None, False),
    ],
)
def test_selector_matches_as_the_api_server_does(selector, matches):
    assert selector_matches(selector, POD) is matches

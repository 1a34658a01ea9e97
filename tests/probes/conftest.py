"""Fixtures for the live probes: probes built from the environment's Airflow connections, and a
kubernetes client for tests that change the cluster (the probes themselves never write)."""

from __future__ import annotations

import pytest


@pytest.fixture
def make_probe(local_env, airflow_connections):
    """``make_probe(**kwargs)`` → a ``LiveProbe`` on the seeded acme-shop model."""
    from switchyard.probes import LiveProbe

    def make(**kwargs):
        return LiveProbe(local_env.model, **kwargs)

    return make


@pytest.fixture(scope="session")
def apps(local_env):
    from kubernetes import client, config

    return client.AppsV1Api(config.new_client_from_config(config_file=str(local_env.kubeconfig_path)))

"""Fixtures for the local environment's tests: API clients and a fresh namespace per test."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest


@dataclass
class Kube:
    api: object
    core: object
    apps: object
    batch: object
    coordination: object


@pytest.fixture(scope="session")
def kube(local_env):
    """The official kubernetes client, configured from the environment's kubeconfig file."""
    from kubernetes import client, config

    api = config.new_client_from_config(config_file=str(local_env.kubeconfig_path))
    return Kube(
        api,
        client.CoreV1Api(api),
        client.AppsV1Api(api),
        client.BatchV1Api(api),
        client.CoordinationV1Api(api),
    )


@pytest.fixture
def namespace(kube):
    name = f"t-{uuid.uuid4().hex[:8]}"
    kube.core.create_namespace({"metadata": {"name": name}})
    yield name
    kube.core.delete_namespace(name)

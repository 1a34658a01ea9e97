"""What the production set-up tests share: the manifests' paths, applying a manifest's plain
objects to the emulator, and a recorder of the AWS API operations a piece of code calls."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
RBAC_MANIFEST = ROOT / "deploy" / "rbac.yaml"
CRD_READER = ROOT / "deploy" / "rbac-crd-reader.yaml"
IAM_POLICY = ROOT / "deploy" / "iam-policy.json"
DEMO_BEHAVIOURS = ROOT / "include" / "behaviours" / "acme-shop.yaml"
RBAC_KINDS = ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")


def apply_objects(env, manifest: Path) -> list[str]:
    """``kubectl apply -f`` as cluster-admin for the manifest's plain objects (ServiceAccount,
    ConfigMap): written into the emulator's store directly, past RBAC. The RBAC kinds themselves
    are what the emulator enforces."""
    from switchyard.localenv.resources import BY_KIND

    applied = []
    for doc in yaml.safe_load_all(manifest.read_text()):
        if not doc or doc["kind"] in RBAC_KINDS:
            continue
        namespace = doc["metadata"].get("namespace", "default")
        env.cluster.ensure_namespace(namespace)
        env.cluster.store.create(BY_KIND[doc["kind"]], namespace, doc)
        applied.append(f"{doc['kind']} {namespace}/{doc['metadata']['name']}")
    return applied


@dataclass(frozen=True)
class AwsCall:
    service: str  # botocore's service name: rds, s3, cloudwatch, ...
    operation: str  # the API operation: DescribeDBInstances, HeadBucket, ...
    region: str
    params: dict = field(hash=False, compare=False)


@contextlib.contextmanager
def recorded_aws_calls() -> Iterator[list[AwsCall]]:
    """Every AWS API operation made inside the block: a ``before-parameter-build`` handler
    (botocore's event hook, called with the caller's parameters before each request) registered on
    each client as it is created, whichever provider hook or session creates it."""
    import botocore.session

    calls: list[AwsCall] = []
    original = botocore.session.Session.create_client

    def create_client(self, *args, **kwargs):
        client = original(self, *args, **kwargs)
        service, region = client.meta.service_model.service_name, client.meta.region_name

        def record(params, model, **_):
            calls.append(AwsCall(service, model.name, region, dict(params)))

        client.meta.events.register("before-parameter-build", record)
        return client

    botocore.session.Session.create_client = create_client
    try:
        yield calls
    finally:
        botocore.session.Session.create_client = original

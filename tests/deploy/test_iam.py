"""deploy/iam-policy.json allows every AWS API call the probes and operators make, and only reads.

The calls are recorded, not guessed: a botocore event hook on every client records each operation
(with its parameters and region) while the live probe reads every fact of every AWS component of
acme-shop from the local AWS (moto), and while the release operators' AWS helpers run. Each call is
then checked against the policy the way IAM would (action, and resource ARN where the policy names
one). A static scan of the code makes sure the exercise reached every operation the code names.
"""

from __future__ import annotations

import dataclasses
import json
import re
from fnmatch import fnmatchcase

import pytest

from tests.deploy.support import IAM_POLICY, ROOT, AwsCall, recorded_aws_calls

ACCOUNT = "123456789012"  # the worked example's account (and moto's)
# IAM actions whose name is not "<service>:<Operation>" (AWS's service authorization reference).
IAM_ACTION = {
    ("s3", "HeadBucket"): "s3:ListBucket",  # there is no s3:HeadBucket action
    ("s3", "ListObjectsV2"): "s3:ListBucket",
}
READ_ONLY = re.compile(r"^[a-z0-9-]+:(Describe|Get|List|BatchGet)[A-Za-z*]*$")
AWS_CODE = [ROOT / "plugins" / "switchyard" / "probes", ROOT / "plugins" / "switchyard" / "airflow"]


def iam_action(call: AwsCall) -> str:
    return IAM_ACTION.get((call.service, call.operation), f"{call.service}:{call.operation}")


def resource_arn(call: AwsCall) -> str:
    """The ARN IAM authorises the call against (``*`` for calls that take no resource-level scope)."""
    p = call.params
    if call.service == "s3" and "Bucket" in p:
        return f"arn:aws:s3:::{p['Bucket']}"
    if call.service == "ssm" and "Name" in p:
        return f"arn:aws:ssm:{call.region}:{ACCOUNT}:parameter/{p['Name'].lstrip('/')}"
    if call.service == "ecr" and "repositoryName" in p:
        return f"arn:aws:ecr:{call.region}:{ACCOUNT}:repository/{p['repositoryName']}"
    if call.service == "ecr" and "repositoryNames" in p:
        [name] = p["repositoryNames"]
        return f"arn:aws:ecr:{call.region}:{ACCOUNT}:repository/{name}"
    return "*"


def as_list(value) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def allowed(policy: dict, action: str, arn: str) -> bool:
    for statement in policy["Statement"]:
        if statement["Effect"] != "Allow":
            continue
        if not any(fnmatchcase(action.lower(), a.lower()) for a in as_list(statement["Action"])):
            continue
        if any(r == "*" or fnmatchcase(arn, r) for r in as_list(statement["Resource"])):
            return True
    return False


@pytest.fixture(scope="module")
def policy() -> dict:
    return json.loads(IAM_POLICY.read_text())


@pytest.fixture(scope="module")
def recorded(local_env) -> list[AwsCall]:
    """Read every fact of every AWS component of acme-shop, plus the operators' ECR lookups."""
    from switchyard.airflow.operators.release import image_requires_migration
    from switchyard.engine.catalog import load_catalog
    from switchyard.engine.model import load_model
    from switchyard.probes import LiveProbe
    from switchyard.probes.aws import AwsProbes
    from switchyard.probes.ecr import find_image

    model = load_model(ROOT / "include" / "models" / "acme-shop.model.yaml")
    aws = [c for c in model.components.values() if c.type in AwsProbes.types]
    # A CloudFront id AWS does not know takes the lookup's fallbacks (list, then tags).
    cloudfront = next(c for c in aws if c.type == "cloudfront_distribution")
    aws.append(dataclasses.replace(cloudfront, name="cloudfront-unknown", resource="ENOSUCHDIST0000"))
    # acme-shop models no ecr_repository component; a model may (the release image's repository).
    ecr_type = load_catalog().resolve(["mgt-tool/aws"], "ecr_repository")
    aws.append(
        dataclasses.replace(
            cloudfront,
            name="images",
            type="ecr_repository",
            resource="acme-shop",
            type_def=ecr_type,
            depends=[],
        )
    )
    from switchyard.probes.clients import forget_aws_clients

    forget_aws_clients()  # clients built by an earlier test would not carry the recording hook
    results = {}
    with pytest.MonkeyPatch.context() as env, recorded_aws_calls() as calls:
        for name, value in local_env.airflow_env().items():  # the local AWS's connection
            env.setenv(name, value)
        probe = LiveProbe(model, cache_seconds=0)
        for component in aws:
            for fact in component.type_def.facts:
                results[f"{component.name}.{fact}"] = probe.probe(component, fact)
        assert find_image("acme-shop", "v1").exists is True
        assert image_requires_migration("acme-shop", "v2", "aws_default")[0] is True
    refused = {k: r.detail for k, r in results.items() if r.status in ("forbidden", "transient")}
    assert not refused, f"the probe run itself failed against the local AWS: {refused}"
    return calls


def test_every_recorded_aws_call_is_allowed_by_the_policy(recorded, policy):
    services = {c.service for c in recorded}
    assert {"rds", "elasticache", "mq", "s3", "cloudfront", "ssm", "ecr", "cloudwatch"} <= services
    denied = sorted(
        {
            f"{c.service} {c.operation} → {iam_action(c)} on {resource_arn(c)}"
            for c in recorded
            if not allowed(policy, iam_action(c), resource_arn(c))
        }
    )
    assert not denied, "deploy/iam-policy.json lacks:\n" + "\n".join(denied)


def test_the_recorded_run_reached_every_aws_operation_the_code_names(recorded):
    """Static cross-check: each boto3 method called in probes/ and airflow/ that is an operation of
    a service the code makes clients for was recorded above (else the exercise missed a path)."""
    import botocore.session
    from botocore import xform_name

    sources = "\n".join(p.read_text() for d in AWS_CODE for p in sorted(d.rglob("*.py")))
    services = set(re.findall(r'client\(\s*"([a-z0-9-]+)"', sources))
    session = botocore.session.get_session()
    by_method: dict[str, set[str]] = {}
    for service in services:
        for operation in session.get_service_model(service).operation_names:
            by_method.setdefault(xform_name(operation), set()).add(f"{service}:{operation}")
    named = {m for m in re.findall(r"\.([a-z][a-z0-9_]+)\(", sources) if m in by_method}
    assert {"describe_db_instances", "get_metric_data", "head_bucket", "batch_get_image"} <= named
    recorded_ops = {f"{c.service}:{c.operation}" for c in recorded}
    missed = {m: sorted(by_method[m]) for m in named if not by_method[m] & recorded_ops}
    assert not missed, f"operations in the code the recorded run never called: {missed}"


def test_the_policy_only_reads_and_scopes_what_it_can(policy):
    actions = [a for s in policy["Statement"] for a in as_list(s["Action"])]
    assert all(s["Effect"] == "Allow" for s in policy["Statement"])
    assert [a for a in actions if not READ_ONLY.match(a)] == [], "write or wildcard-service actions"
    scoped = {a.split(":")[0]: s["Resource"] for s in policy["Statement"] for a in as_list(s["Action"])}
    # Data a read can reveal (parameter values, image manifests, object names) is limited to the
    # model's own resources; state-only Describe calls and metrics take "*".
    assert scoped["ssm"].endswith(":parameter/platform/defaults/app-config")
    assert scoped["ecr"].endswith(":repository/acme-shop")
    assert scoped["s3"] == "arn:aws:s3:::acme-shop-stage-media-8f3e9c"
    assert allowed(
        policy, "eks:DescribeCluster", f"arn:aws:eks:eu-central-1:{ACCOUNT}:cluster/acme-shop-stage"
    )
    assert not allowed(policy, "ssm:GetParameter", f"arn:aws:ssm:eu-central-1:{ACCOUNT}:parameter/other")
    assert not allowed(policy, "s3:GetObject", "arn:aws:s3:::acme-shop-stage-media-8f3e9c/x")
    assert not allowed(policy, "rds:ModifyDBInstance", "*")

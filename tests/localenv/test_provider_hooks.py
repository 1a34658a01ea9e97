"""The providers' own hooks against the local environment, configured only by Airflow connections."""

from __future__ import annotations

import datetime

from switchyard.localenv.aws import find_cloudfront_distribution


def test_kubernetes_hook_switches_the_service_selector_to_green_and_reads_it_back(
    local_env, airflow_connections
):
    from airflow.providers.cncf.kubernetes.hooks.kubernetes import KubernetesHook

    hook = KubernetesHook(conn_id="kubernetes_default")
    core = hook.core_v1_client
    before = core.read_namespaced_service("acme-shop-svc", hook.get_namespace()).spec.selector
    assert before == {"app": "acme-shop", "component": "nginx", "color": "blue"}
    try:
        core.patch_namespaced_service(
            "acme-shop-svc", "default", {"spec": {"selector": {"app": "acme-shop", "color": "green"}}}
        )
        after = core.read_namespaced_service("acme-shop-svc", "default").spec.selector
        assert after == {"app": "acme-shop", "component": "nginx", "color": "green"}
    finally:
        core.patch_namespaced_service("acme-shop-svc", "default", {"spec": {"selector": {"color": "blue"}}})
    status = hook.get_deployment_status("acme-shop-nginx-blue", "default").status
    assert status.ready_replicas == 2 and status.available_replicas == 2


def test_aws_hooks_read_back_what_the_model_seeded(local_env, airflow_connections):
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook
    from airflow.providers.amazon.aws.hooks.ecr import EcrHook
    from airflow.providers.amazon.aws.hooks.elasticache_replication_group import (
        ElastiCacheReplicationGroupHook,
    )
    from airflow.providers.amazon.aws.hooks.rds import RdsHook
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.providers.amazon.aws.hooks.ssm import SsmHook

    assert RdsHook(aws_conn_id="aws_default").get_db_instance_state("acme-shop-stage-rds") == "available"
    cache = ElastiCacheReplicationGroupHook(aws_conn_id="aws_default")
    assert cache.get_replication_group_status("acme-shop-stage-redis") == "available"
    clusters = cache.conn.describe_cache_clusters(CacheClusterId="acme-shop-stage-redis")["CacheClusters"]
    assert clusters[0]["CacheClusterStatus"] == "available"

    mq = AwsBaseHook(aws_conn_id="aws_default", client_type="mq").conn
    brokers = {b["BrokerName"]: b for b in mq.list_brokers()["BrokerSummaries"]}
    assert mq.describe_broker(BrokerId=brokers["acme-shop-stage-mq"]["BrokerId"])["BrokerState"] == "RUNNING"

    s3 = S3Hook(aws_conn_id="aws_default")
    assert s3.check_for_bucket("acme-shop-stage-media-8f3e9c")
    assert "media/logo.png" in s3.list_keys("acme-shop-stage-media-8f3e9c")

    config = SsmHook(aws_conn_id="aws_default").get_parameter_value("/platform/defaults/app-config")
    assert '"APP_NAME": "acme-shop"' in config

    cloudfront = AwsBaseHook(aws_conn_id="aws_default", client_type="cloudfront").conn
    distribution_id = find_cloudfront_distribution(cloudfront, "EABCDEF123456X")
    assert distribution_id and distribution_id != "EABCDEF123456X"
    distribution = cloudfront.get_distribution(Id=distribution_id)["Distribution"]
    assert distribution["DistributionConfig"]["Enabled"] is True
    assert local_env.aws.resources["cloudfront"].aws_id == distribution_id

    ecr = EcrHook(aws_conn_id="aws_default").conn
    tags = {
        t
        for image in ecr.describe_images(repositoryName="acme-shop")["imageDetails"]
        for t in image.get("imageTags", [])
    }
    assert {"v1", "v2", "v3-crashloop"} <= tags and "v9-missing" not in tags
    manifest = ecr.batch_get_image(repositoryName="acme-shop", imageIds=[{"imageTag": "v2"}])["images"][0]
    assert '"io.switchyard.requires-migration": "true"' in manifest["imageManifest"]

    cloudwatch = AwsBaseHook(aws_conn_id="aws_default", client_type="cloudwatch").conn
    assert (
        _latest(cloudwatch, "AWS/RDS", "DatabaseConnections", {"DBInstanceIdentifier": "acme-shop-stage-rds"})
        == 120
    )
    assert _latest(cloudwatch, "AWS/AmazonMQ", "MessageCount", {"Broker": "acme-shop-stage-mq"}) == 34


def test_cloudwatch_values_are_settable_at_run_time(local_env, emulator, airflow_connections):
    from airflow.providers.amazon.aws.hooks.base_aws import AwsBaseHook

    dimensions = {"DBInstanceIdentifier": "acme-shop-stage-rds"}
    cloudwatch = AwsBaseHook(aws_conn_id="aws_default", client_type="cloudwatch").conn
    try:
        emulator.set_aws_metric("AWS/RDS", "DatabaseConnections", dimensions, 480)
        assert _latest(cloudwatch, "AWS/RDS", "DatabaseConnections", dimensions, stat="Maximum") == 480
    finally:
        emulator.set_aws_metric("AWS/RDS", "DatabaseConnections", dimensions, 120)


def _latest(cloudwatch, namespace, metric, dimensions, stat="Minimum"):
    now = datetime.datetime.now(datetime.UTC)
    result = cloudwatch.get_metric_data(
        MetricDataQueries=[
            {
                "Id": "m",
                "MetricStat": {
                    "Metric": {
                        "Namespace": namespace,
                        "MetricName": metric,
                        "Dimensions": [{"Name": k, "Value": v} for k, v in dimensions.items()],
                    },
                    "Period": 60,
                    "Stat": stat,
                },
            }
        ],
        StartTime=now - datetime.timedelta(minutes=5),
        EndTime=now + datetime.timedelta(minutes=1),
    )
    values = result["MetricDataResults"][0]["Values"]
    return values[0] if values else None


def test_seeding_again_adopts_what_exists(local_env):
    """moto's state belongs to the process: a second environment in it, or a create botocore retried
    after a lost answer on a loaded machine, finds the resource already there and adopts it."""
    from switchyard.localenv.behaviours import load_behaviours_file
    from switchyard.localenv.seeding import INITIAL_TAG

    aws = local_env.aws
    first = aws.records()
    components = local_env.model.components
    for name, record in first.items():
        if name in components:
            bucket = "acme-shop-stage-media-8f3e9c" if record["type"] == "cloudfront_distribution" else None
            again = aws.seed_component(components[name], local_env.model.name, bucket)
            assert (again.type, again.resource, again.aws_id) == (
                record["type"],
                record["resource"],
                record["aws_id"],
            )
    assert {r["type"] for r in first.values()} >= {
        "rds_instance",
        "elasticache_cluster",
        "mq_broker",
        "s3_bucket",
        "ssm_parameter",
        "cloudfront_distribution",
    }
    behaviours = load_behaviours_file(local_env.behaviours_path)
    assert aws.seed_images("acme-shop", behaviours, [INITIAL_TAG]) == local_env.images
    mq = aws.client("mq").list_brokers()["BrokerSummaries"]
    assert len([b for b in mq if b["BrokerName"] == first["mq"]["resource"]]) == 1
    cloudfront = aws.client("cloudfront").list_distributions()["DistributionList"]["Items"]
    assert len(cloudfront) == 1

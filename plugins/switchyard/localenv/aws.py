"""Local AWS: moto in server mode on loopback, seeded from a model's AWS components.

Seeding by component type (the resource id is the component's ``resource``, else its name):

==========================  ====================================================================
rds_instance                DB instance ``resource`` (mysql), status ``available``
elasticache_cluster         cache cluster ``resource`` and a replication group of the same id
                            (the provider's hook reads replication groups), status ``available``
mq_broker                   RabbitMQ broker named ``resource``; moto picks its BrokerId
s3_bucket                   bucket ``resource`` with versioning and a few objects
cloudfront_distribution     distribution with the S3 origin it depends on; moto picks the Id
ssm_parameter               String parameter ``resource`` holding the app config (JSON)
==========================  ====================================================================

plus one ECR repository named after the model holding the demo's image tags, and CloudWatch
data points (re-published every ``period`` seconds so "the last five minutes" always has data):
``AWS/RDS DatabaseConnections``, ``AWS/ElastiCache CurrConnections`` and ``CacheHitRate``,
``AWS/AmazonMQ MessageCount`` and ``ConsumerCount`` (dimension ``Broker``), ``AWS/CloudFront
5xxErrorRate``.

Ids AWS generates itself (CloudFront distribution ids, MQ broker ids) cannot be the model's: the
model's id is recorded on the resource — CloudFront: ``Comment`` ``switchyard-resource-id=<id>`` and
tag ``switchyard:resource-id``; MQ: tag ``switchyard:resource-id`` — and in ``AwsResource.aws_id``
(written to ``aws-resources.json`` by the environment). ``find_cloudfront_distribution`` resolves it.

Seeding adopts what already exists under the same id: moto's state belongs to the process, not to
one server, so a second environment in a process finds the first one's resources, and a create that
botocore retried after a lost response (a loaded machine) finds its own first attempt.
"""

from __future__ import annotations

import datetime
import json
import logging
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

from switchyard.localenv.behaviours import Behaviour
from switchyard.localenv.clock import Periodic
from switchyard.release.conventions import RESOURCE_ID_COMMENT, RESOURCE_ID_TAG

ACCESS_KEY = "testing"  # moto accepts any credentials; these are placeholders, not secrets
SECRET_KEY = "testing"
ACCOUNT_ID = "123456789012"  # moto's default account


@dataclass
class AwsResource:
    component: str
    type: str
    resource: str  # the model's id
    aws_id: str  # the id AWS knows it by (differs for CloudFront and MQ)
    arn: str = ""


GLOBAL_METRIC_NAMESPACES = ("AWS/CloudFront",)  # CloudFront is global: its metrics live in us-east-1


@dataclass
class CloudWatchFeeder:
    """Keeps CloudWatch metrics current: every value is put again every ``period`` real seconds."""

    client: Any
    period: float = 30.0
    global_client: Any = None  # us-east-1: where AWS publishes CloudFront's metrics
    values: dict[tuple[str, str, tuple[tuple[str, str], ...]], float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ticker = Periodic("localenv-cloudwatch", self.period, self._republish)

    def set(self, namespace: str, metric: str, dimensions: dict[str, str], value: float) -> None:
        key = (namespace, metric, tuple(sorted(dimensions.items())))
        with self._lock:
            self.values[key] = float(value)
        self._put([(key, float(value))])

    def start(self) -> None:
        self._ticker.start()

    def stop(self) -> None:
        self._ticker.stop()

    def _republish(self) -> None:
        with self._lock:
            items = list(self.values.items())
        self._put(items)

    def _put(self, items: list[tuple[tuple[str, str, tuple[tuple[str, str], ...]], float]]) -> None:
        now = datetime.datetime.now(datetime.UTC)
        by_namespace: dict[str, list[dict[str, Any]]] = {}
        for (namespace, metric, dims), value in items:
            by_namespace.setdefault(namespace, []).append(
                {
                    "MetricName": metric,
                    "Dimensions": [{"Name": k, "Value": v} for k, v in dims],
                    "Value": value,
                    "Timestamp": now,
                }
            )
        for namespace, data in by_namespace.items():
            client = (
                self.global_client
                if namespace in GLOBAL_METRIC_NAMESPACES and self.global_client
                else self.client
            )
            client.put_metric_data(Namespace=namespace, MetricData=data)


class LocalAws:
    def __init__(
        self,
        region: str = "eu-central-1",
        port: int = 0,
        metrics_period: float = 30.0,
        host: str = "127.0.0.1",
    ) -> None:
        self.region = region
        self._port = port
        self._host = host
        self._server: Any = None
        self.metrics_period = metrics_period
        self.feeder: CloudWatchFeeder | None = None
        self.resources: dict[str, AwsResource] = {}

    def start(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one access-log line per call otherwise
        self._server = ThreadedMotoServer(ip_address=self._host, port=self._port, verbose=False)
        self._server.start()
        self.feeder = CloudWatchFeeder(
            self.client("cloudwatch"), self.metrics_period, self.client("cloudwatch", region="us-east-1")
        )
        self.feeder.start()

    def stop(self) -> None:
        if self.feeder:
            self.feeder.stop()
        if self._server:
            self._server.stop()

    @property
    def endpoint_url(self) -> str:
        """The endpoint for clients on this machine (loopback when bound to every interface)."""
        from switchyard.localenv.httpbase import local_host

        host, port = self._server.get_host_and_port()
        return f"http://{local_host(host)}:{port}"

    @property
    def port(self) -> int:
        return self._server.get_host_and_port()[1]

    def client(self, service: str, region: str | None = None) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=region or self.region,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    @property
    def registry(self) -> str:
        return f"{ACCOUNT_ID}.dkr.ecr.{self.region}.amazonaws.com"

    # ------------------------------------------------------------ seeding
    def seed_component(
        self, component: Any, model_name: str, depends_bucket: str | None = None
    ) -> AwsResource | None:
        """Create the AWS resource behind one model component; None for types that are not AWS."""
        seeders = {
            "rds_instance": self._rds,
            "elasticache_cluster": self._elasticache,
            "mq_broker": self._mq,
            "s3_bucket": self._s3,
            "ssm_parameter": self._ssm,
            "cloudfront_distribution": lambda rid, name: self._cloudfront(rid, name, depends_bucket),
        }
        seeder = seeders.get(component.type)
        if seeder is None:
            return None
        resource_id = component.resource or component.name
        record = seeder(resource_id, model_name)
        record.component = component.name
        self.resources[component.name] = record
        return record

    def _rds(self, rid: str, app: str) -> AwsResource:
        rds = self.client("rds")
        db = _create_or_adopt(
            lambda: rds.create_db_instance(
                DBInstanceIdentifier=rid,
                Engine="mysql",
                DBInstanceClass="db.t3.medium",
                AllocatedStorage=20,
                MasterUsername="admin",
                MasterUserPassword="local-placeholder-password",
                DBName="shop",
                Tags=[{"Key": "app", "Value": app}],
            )["DBInstance"],
            "DBInstanceAlreadyExists",
            lambda: rds.describe_db_instances(DBInstanceIdentifier=rid)["DBInstances"][0],
        )
        self.feeder.set("AWS/RDS", "DatabaseConnections", {"DBInstanceIdentifier": rid}, 120)
        return AwsResource("", "rds_instance", rid, rid, db["DBInstanceArn"])

    def _elasticache(self, rid: str, app: str) -> AwsResource:
        cache = self.client("elasticache")
        cluster = _create_or_adopt(
            lambda: cache.create_cache_cluster(
                CacheClusterId=rid,
                Engine="redis",
                CacheNodeType="cache.t3.micro",
                NumCacheNodes=1,
                Tags=[{"Key": "app", "Value": app}],
            )["CacheCluster"],
            "CacheClusterAlreadyExists",
            lambda: cache.describe_cache_clusters(CacheClusterId=rid)["CacheClusters"][0],
        )
        _create_or_adopt(
            lambda: cache.create_replication_group(
                ReplicationGroupId=rid,
                ReplicationGroupDescription=f"{app} cache",
                Engine="redis",
                CacheNodeType="cache.t3.micro",
                NumCacheClusters=1,
            ),
            "ReplicationGroupAlreadyExists",
            lambda: None,
        )
        self.feeder.set("AWS/ElastiCache", "CurrConnections", {"CacheClusterId": rid}, 200)
        self.feeder.set("AWS/ElastiCache", "CacheHitRate", {"CacheClusterId": rid}, 95)
        return AwsResource("", "elasticache_cluster", rid, rid, cluster.get("ARN", ""))

    def _mq(self, rid: str, app: str) -> AwsResource:
        mq = self.client("mq")
        # MQ allows two brokers of one name; a second would make the probes' lookup ambiguous
        for existing in mq.list_brokers().get("BrokerSummaries", []):
            if existing.get("BrokerName") == rid:
                return AwsResource("", "mq_broker", rid, existing["BrokerId"], existing["BrokerArn"])
        broker = mq.create_broker(
            BrokerName=rid,
            EngineType="RABBITMQ",
            EngineVersion="3.13",
            HostInstanceType="mq.t3.micro",
            DeploymentMode="SINGLE_INSTANCE",
            PubliclyAccessible=False,
            AutoMinorVersionUpgrade=True,
            Users=[{"Username": "app", "Password": "local-placeholder"}],
            Tags={"app": app, RESOURCE_ID_TAG: rid},
        )
        self.feeder.set("AWS/AmazonMQ", "MessageCount", {"Broker": rid}, 34)
        self.feeder.set("AWS/AmazonMQ", "ConsumerCount", {"Broker": rid}, 22)
        return AwsResource("", "mq_broker", rid, broker["BrokerId"], broker["BrokerArn"])

    def _s3(self, rid: str, app: str) -> AwsResource:
        s3 = self.client("s3")
        _create_or_adopt(
            lambda: s3.create_bucket(
                Bucket=rid, CreateBucketConfiguration={"LocationConstraint": self.region}
            ),
            "BucketAlreadyOwnedByYou",
            lambda: None,
        )
        s3.put_bucket_versioning(Bucket=rid, VersioningConfiguration={"Status": "Enabled"})
        for key in ("media/logo.png", "media/banner.jpg", "media/products/sku-1001.jpg"):
            s3.put_object(Bucket=rid, Key=key, Body=b"local placeholder")
        return AwsResource("", "s3_bucket", rid, rid, f"arn:aws:s3:::{rid}")

    def _ssm(self, rid: str, app: str) -> AwsResource:
        ssm = self.client("ssm")
        _create_or_adopt(
            lambda: ssm.put_parameter(
                Name=rid,
                Type="String",
                Tags=[{"Key": "app", "Value": app}],
                Value=json.dumps({"APP_ENV": "stage", "APP_NAME": app, "LOG_LEVEL": "info"}),
            ),
            "ParameterAlreadyExists",
            lambda: None,
        )
        return AwsResource(
            "",
            "ssm_parameter",
            rid,
            rid,
            f"arn:aws:ssm:{self.region}:{ACCOUNT_ID}:parameter/{rid.lstrip('/')}",
        )

    def _cloudfront(self, rid: str, app: str, bucket: str | None) -> AwsResource:
        cloudfront = self.client("cloudfront")
        origin = f"{bucket or app}.s3.amazonaws.com"
        existing = find_cloudfront_distribution(cloudfront, rid)
        if existing is not None:
            arn = cloudfront.get_distribution(Id=existing)["Distribution"]["ARN"]
            return AwsResource("", "cloudfront_distribution", rid, existing, arn)
        created = cloudfront.create_distribution_with_tags(
            DistributionConfigWithTags={
                "DistributionConfig": {
                    "CallerReference": f"switchyard-{rid}",
                    "Comment": f"{RESOURCE_ID_COMMENT}{rid}",
                    "Enabled": True,
                    "Origins": {
                        "Quantity": 1,
                        "Items": [
                            {
                                "Id": "media",
                                "DomainName": origin,
                                "S3OriginConfig": {"OriginAccessIdentity": ""},
                            }
                        ],
                    },
                    "DefaultCacheBehavior": {
                        "TargetOriginId": "media",
                        "ViewerProtocolPolicy": "redirect-to-https",
                        "MinTTL": 0,
                        "TrustedSigners": {"Enabled": False, "Quantity": 0},
                        "ForwardedValues": {"QueryString": False, "Cookies": {"Forward": "none"}},
                    },
                },
                "Tags": {"Items": [{"Key": RESOURCE_ID_TAG, "Value": rid}, {"Key": "app", "Value": app}]},
            }
        )["Distribution"]
        self.feeder.set(
            "AWS/CloudFront", "5xxErrorRate", {"DistributionId": created["Id"], "Region": "Global"}, 0.1
        )
        return AwsResource("", "cloudfront_distribution", rid, created["Id"], created["ARN"])

    def seed_images(
        self, repository: str, behaviours: dict[str, Behaviour], initial_tags: list[str]
    ) -> list[str]:
        """An ECR repository holding every tag the demo uses: the initial tags and each tag of the
        behaviour table, except tags whose behaviour is an image pull failure (they are missing)."""
        ecr = self.client("ecr")
        _create_or_adopt(
            lambda: ecr.create_repository(repositoryName=repository),
            "RepositoryAlreadyExistsException",
            lambda: None,
        )
        tags = list(dict.fromkeys(initial_tags + [k for k in behaviours if "/" not in k and ":" not in k]))
        pushed = []
        for tag in tags:
            behaviour = behaviours.get(tag)
            if behaviour is not None and behaviour.kind == "image_pull_failure":
                continue
            manifest = {
                "schemaVersion": 2,
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "size": 2,
                    "digest": "sha256:" + _digest(f"{repository}:{tag}:config"),
                },
                "layers": [],
                "annotations": {"org.opencontainers.image.version": tag},
            }
            if behaviour is not None and behaviour.requires_migration:
                manifest["annotations"]["io.switchyard.requires-migration"] = "true"
            _create_or_adopt(
                lambda manifest=manifest, tag=tag: ecr.put_image(
                    repositoryName=repository,
                    imageTag=tag,
                    imageManifest=json.dumps(manifest),
                    imageManifestMediaType=manifest["mediaType"],
                ),
                "ImageAlreadyExistsException",
                lambda: None,
            )
            pushed.append(tag)
        self.resources[f"ecr:{repository}"] = AwsResource(
            f"ecr:{repository}",
            "ecr_repository",
            repository,
            repository,
            f"arn:aws:ecr:{self.region}:{ACCOUNT_ID}:repository/{repository}",
        )
        return pushed

    def records(self) -> dict[str, dict[str, str]]:
        return {name: asdict(r) for name, r in self.resources.items()}


def find_cloudfront_distribution(client: Any, resource_id: str) -> str | None:
    """The distribution Id for a model's CloudFront resource id: the id itself on real AWS, the
    distribution carrying ``switchyard-resource-id=<id>`` in its Comment on the local moto."""
    for item in (client.list_distributions().get("DistributionList") or {}).get("Items") or []:
        if item["Id"] == resource_id or item.get("Comment") == f"{RESOURCE_ID_COMMENT}{resource_id}":
            return item["Id"]
    return None


def _create_or_adopt(create: Any, exists_code: str, existing: Any) -> Any:
    """``create()``; when AWS answers that the resource already exists, ``existing()`` instead."""
    from botocore.exceptions import ClientError

    try:
        return create()
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != exists_code:
            raise
        return existing()


def _digest(text: str) -> str:
    import hashlib

    return hashlib.sha256(text.encode()).hexdigest()

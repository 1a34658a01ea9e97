"""Facts of the AWS types, read through the amazon provider's hooks (describe/get/list/head only).

The resource id is the component's ``resource`` (else its name). Where each fact comes from:

* rds_instance — DescribeDBInstances: ``available`` (DBInstanceStatus ``available``);
  ``connection_count``: CloudWatch ``AWS/RDS DatabaseConnections``.
* elasticache_cluster — DescribeCacheClusters: ``available`` (CacheClusterStatus ``available``);
  ``connection_count`` / ``cache_hit_ratio``: ``AWS/ElastiCache CurrConnections`` / ``CacheHitRate``
  by ``CacheClusterId``.
* mq_broker — the resource is the broker *name* (AWS picks the id; an id is accepted too):
  ListBrokers gives ``available`` (the summary's BrokerState ``RUNNING``); ``queue_depth`` / ``consumer_count``:
  ``AWS/AmazonMQ MessageCount`` / ``ConsumerCount`` by ``Broker`` (the name).
* s3_bucket — HeadBucket: ``accessible`` (404 → false: the fact means "reachable", and a missing
  bucket is not; 403 → forbidden); GetBucketVersioning: ``versioning_enabled``; ListObjectsV2
  (paginated, up to ``MAX_LISTED_OBJECTS``): ``object_count``.
* cloudfront_distribution — GetDistribution by id; when AWS does not know that id (AWS picks
  distribution ids, so a model written before the distribution existed, or the local environment,
  carries its own), the distribution whose Comment carries ``switchyard-resource-id=<id>``, else the
  one tagged ``switchyard:resource-id=<id>``. ``enabled``, ``deployed`` (Status ``Deployed``);
  ``error_rate_5xx``: ``AWS/CloudFront 5xxErrorRate`` (published in us-east-1 only).
* ssm_parameter — GetParameter without decryption (the value is dropped at once, never kept):
  ``exists`` (ParameterNotFound → false), ``version``, ``last_modified_age_seconds``.
* ecr_repository — DescribeRepositories: ``exists`` (RepositoryNotFound → false); DescribeImages
  (tagged): ``image_count``.

The model's components of a type are read together where AWS allows it: one ListBrokers answers
every broker, one DescribeDBInstances (filtered by id) every DB instance, one GetMetricData every
CloudWatch fact of the model in the connection's region (CloudFront's is read in us-east-1 on its
own). A grouped call AWS refuses for a reason one object may not share (access denied to one of
them, a bad id) falls back on reading each object alone, so each gets its own status.

CloudWatch facts are the latest one-minute datapoint of the last ten minutes, read as the worst case
within that minute (Maximum for loads, Minimum for capacities and hit ratios). No datapoint is
``missing``: no data is not a healthy zero.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from switchyard.engine.model import Component, Model
from switchyard.probes.cache import ReadCache
from switchyard.probes.clients import aws_client
from switchyard.probes.errors import MISSING, NOT_FOUND, TRANSIENT, ReadFailed, from_aws
from switchyard.probes.observation import Observation
from switchyard.release.conventions import RESOURCE_ID_COMMENT, RESOURCE_ID_TAG

CLOUDFRONT_METRICS_REGION = "us-east-1"
METRIC_LOOKBACK = datetime.timedelta(minutes=10)
MAX_LISTED_OBJECTS = 100_000
_REFUSED = object()  # a grouped read AWS refused: read each object alone
# The CloudWatch facts: type → fact → (namespace, metric, dimension, statistic, value type). All of
# the model's are read by one GetMetricData per region (CloudFront's, keyed by an id AWS picks and
# published in another region, is read on its own).
METRICS: dict[str, dict[str, tuple[str, str, str, str, type]]] = {
    "rds_instance": {
        "connection_count": ("AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", "Maximum", int),
    },
    "elasticache_cluster": {
        "connection_count": ("AWS/ElastiCache", "CurrConnections", "CacheClusterId", "Maximum", int),
        "cache_hit_ratio": ("AWS/ElastiCache", "CacheHitRate", "CacheClusterId", "Minimum", float),
    },
    "mq_broker": {
        "queue_depth": ("AWS/AmazonMQ", "MessageCount", "Broker", "Maximum", int),
        "consumer_count": ("AWS/AmazonMQ", "ConsumerCount", "Broker", "Minimum", int),
    },
}
MAX_METRIC_QUERIES = 500  # GetMetricData's limit per call


class AwsProbes:
    """One probe family: the AWS types of the catalog."""

    types = (
        "rds_instance",
        "elasticache_cluster",
        "mq_broker",
        "s3_bucket",
        "cloudfront_distribution",
        "ssm_parameter",
        "ecr_repository",
    )

    def __init__(
        self,
        conn_id: str | None,
        request_timeout: float,
        cache: ReadCache,
        cloudfront_metrics_region: str | None = CLOUDFRONT_METRICS_REGION,
        clock: Callable[[], float] = time.time,
        model: Model | None = None,
    ) -> None:
        self.model = model  # its components of a type are described together (None: one by one)
        self.conn_id = conn_id
        self.timeout = request_timeout
        self.cache = cache
        self.cloudfront_metrics_region = cloudfront_metrics_region
        self.clock = clock
        self._clients: dict[tuple[str, str | None], Any] = {}
        self._distribution_ids: dict[str, tuple[str, str]] = {}  # model id → (AWS id, how found)

    def client(self, service: str, region: str | None = None) -> Any:
        key = (service, region)
        if key not in self._clients:
            self._clients[key] = aws_client(service, self.conn_id, self.timeout, region)
        return self._clients[key]

    def _read(self, key: tuple, what: str, call: Callable[[], Any]) -> Any:
        def read() -> Any:
            try:
                return call()
            except Exception as exc:
                raise from_aws(exc, what) from exc

        return self.cache.get(("aws", *key), read)

    def fact(self, component: Component, fact: str) -> Any:
        handler = getattr(self, f"_{component.type}_fact")
        return handler(component, component.probe_target, fact)

    # ------------------------------------------------------------------ rds_instance
    def _rds_instance_fact(self, component: Component, rid: str, fact: str) -> Any:
        db = self.db_instance(rid)
        if fact == "available":
            status = db.get("DBInstanceStatus", "")
            return Observation(status == "available", f"DBInstanceStatus {status}")
        if fact in METRICS["rds_instance"]:
            return self.metric(component.type, fact, rid)
        raise _unknown_fact(component, fact)

    def db_instance(self, rid: str) -> dict[str, Any]:
        """The DescribeDBInstances entry of ``rid``. The model's instances are described together
        (one call, filtered by their ids); an id outside the model, or a grouped call AWS refused
        for a reason one instance may not share, is described alone."""
        group = self._group_ids("rds_instance")
        if rid in group and len(group) > 1:
            listed = self._grouped(
                ("rds-group", *group),
                f"DescribeDBInstances {', '.join(group)}",
                lambda: self._db_instances(group),
            )
            if listed is not None:
                if rid not in listed:
                    raise ReadFailed(
                        NOT_FOUND, f"DescribeDBInstances: no DB instance {rid} (DBInstanceNotFound)"
                    )
                return listed[rid]
        return self._read(
            ("rds", rid),
            f"DescribeDBInstances {rid}",
            lambda: self.client("rds").describe_db_instances(DBInstanceIdentifier=rid)["DBInstances"][0],
        )

    def _db_instances(self, ids: tuple[str, ...]) -> dict[str, dict[str, Any]]:
        rds, marker, found = self.client("rds"), None, {}
        while True:
            page = rds.describe_db_instances(
                Filters=[{"Name": "db-instance-id", "Values": list(ids)}],
                **({"Marker": marker} if marker else {}),
            )
            found.update((db["DBInstanceIdentifier"], db) for db in page.get("DBInstances") or [])
            marker = page.get("Marker")
            if not marker:
                return found
            self.cache.reads += 1  # each further page is a request of its own

    # ------------------------------------------------------------------ grouped reads
    def _group_ids(self, type_name: str) -> tuple[str, ...]:
        """Resource ids of the model's components of a type, sorted (empty without a model)."""
        if self.model is None:
            return ()
        return tuple(sorted({c.probe_target for c in self.model.components.values() if c.type == type_name}))

    def _grouped(self, key: tuple, what: str, call: Callable[[], Any]) -> Any:
        """A read answering several objects, or None when AWS refused it for a reason a read of one
        object may not share (then each is read alone). Throttling, AWS's own failures and no answer
        at all raise: reading each alone would only meet them again, once per object."""

        def read() -> Any:
            try:
                return call()
            except ClientError as exc:
                failed = from_aws(exc, what)
                if failed.status == TRANSIENT:
                    raise failed from exc
                return _REFUSED
            except Exception as exc:
                raise from_aws(exc, what) from exc

        found = self.cache.get(("aws", *key), read)
        return None if found is _REFUSED else found

    # ------------------------------------------------------------------ elasticache_cluster
    def _elasticache_cluster_fact(self, component: Component, rid: str, fact: str) -> Any:
        def describe() -> dict[str, Any]:
            return self.client("elasticache").describe_cache_clusters(CacheClusterId=rid)["CacheClusters"][0]

        cluster = self._read(("elasticache", rid), f"DescribeCacheClusters {rid}", describe)
        if fact == "available":
            status = cluster.get("CacheClusterStatus", "")
            return Observation(status == "available", f"CacheClusterStatus {status}")
        if fact in METRICS["elasticache_cluster"]:
            return self.metric(component.type, fact, rid)
        raise _unknown_fact(component, fact)

    # ------------------------------------------------------------------ mq_broker
    def broker(self, name: str) -> dict[str, Any]:
        """The ListBrokers summary of the broker named ``name`` (an id is accepted as well): its id,
        name and BrokerState. One ListBrokers (paged) answers every broker of the model."""

        def listed() -> dict[str, dict[str, Any]]:
            mq, token, found = self.client("mq"), None, {}
            while True:
                page = mq.list_brokers(**({"NextToken": token} if token else {}))
                for broker in page.get("BrokerSummaries") or []:
                    found[broker.get("BrokerName") or broker["BrokerId"]] = broker
                    found.setdefault(broker["BrokerId"], broker)
                token = page.get("NextToken")
                if not token:
                    return found
                self.cache.reads += 1  # each further page is a request of its own

        brokers = self._read(("mq-brokers",), "ListBrokers", listed)
        if name not in brokers:
            count = len({b["BrokerId"] for b in brokers.values()})
            raise ReadFailed(NOT_FOUND, f"ListBrokers: no broker named {name} among {count}")
        return brokers[name]

    def _mq_broker_fact(self, component: Component, name: str, fact: str) -> Any:
        broker = self.broker(name)
        if fact == "available":
            state = broker.get("BrokerState", "")
            return Observation(state == "RUNNING", f"BrokerState {state} (id {broker['BrokerId']})")
        if fact in METRICS["mq_broker"]:
            return self.metric(component.type, fact, broker.get("BrokerName") or name)
        raise _unknown_fact(component, fact)

    # ------------------------------------------------------------------ s3_bucket
    def _s3_bucket_fact(self, component: Component, bucket: str, fact: str) -> Any:
        s3 = self.client("s3")
        if fact == "accessible":
            try:
                self._read(("s3-head", bucket), f"HeadBucket {bucket}", lambda: s3.head_bucket(Bucket=bucket))
            except ReadFailed as exc:
                if exc.status == NOT_FOUND:
                    return Observation(False, exc.detail)
                raise
            return True
        if fact == "versioning_enabled":
            versioning = self._read(
                ("s3-versioning", bucket),
                f"GetBucketVersioning {bucket}",
                lambda: s3.get_bucket_versioning(Bucket=bucket),
            )
            return versioning.get("Status") == "Enabled"
        if fact == "object_count":
            return self._read(
                ("s3-count", bucket), f"ListObjectsV2 {bucket}", lambda: _count_objects(s3, bucket)
            )
        raise _unknown_fact(component, fact)

    # ------------------------------------------------------------------ cloudfront_distribution
    def distribution(self, resource_id: str) -> dict[str, Any]:
        """``{"Id", "Status", "Enabled", "found_by"}`` of the model's distribution (see the module doc).

        An id found through the Comment or the tag is remembered, so later reads are one
        GetDistribution; if that id disappears, the lookup starts over.
        """
        cloudfront = self.client("cloudfront")
        known, found_by = self._distribution_ids.get(resource_id, (resource_id, "id"))

        def by_id() -> dict[str, Any]:
            found = cloudfront.get_distribution(Id=known)["Distribution"]
            config = found.get("DistributionConfig") or {}
            return {"Id": found["Id"], "Status": found.get("Status"), "Enabled": config.get("Enabled")}

        try:
            found = self._read(("cloudfront", known), f"GetDistribution {known}", by_id)
            return {**found, "found_by": found_by}
        except ReadFailed as exc:
            if exc.status != NOT_FOUND:
                raise
            self._distribution_ids.pop(resource_id, None)

        def by_marker() -> dict[str, Any]:
            items = _list_distributions(cloudfront)
            marker = f"{RESOURCE_ID_COMMENT}{resource_id}"
            for item in items:
                if marker in (item.get("Comment") or "").split():
                    return {**_summary(item), "found_by": f"Comment {marker}"}
            for item in items:
                tags = cloudfront.list_tags_for_resource(Resource=item["ARN"]).get("Tags") or {}
                if any(
                    t.get("Key") == RESOURCE_ID_TAG and t.get("Value") == resource_id
                    for t in tags.get("Items") or []
                ):
                    return {**_summary(item), "found_by": f"tag {RESOURCE_ID_TAG}={resource_id}"}
            raise ReadFailed(
                NOT_FOUND,
                f"no distribution {resource_id}, and none of {len(items)} carries {marker} "
                f"or the tag {RESOURCE_ID_TAG}",
            )

        found = self._read(
            ("cloudfront-lookup", resource_id), f"ListDistributions for {resource_id}", by_marker
        )
        self._distribution_ids[resource_id] = (found["Id"], found["found_by"])
        # the listing carried its state: the next fact needs no GetDistribution
        self.cache.put(
            ("aws", "cloudfront", found["Id"]), {k: v for k, v in found.items() if k != "found_by"}
        )
        return found

    def _cloudfront_distribution_fact(self, component: Component, rid: str, fact: str) -> Any:
        found = self.distribution(rid)
        via = f"distribution {found['Id']} (by {found['found_by']})"
        if fact == "enabled":
            return Observation(bool(found["Enabled"]), via)
        if fact == "deployed":
            return Observation(found["Status"] == "Deployed", f"Status {found['Status']}, {via}")
        if fact == "error_rate_5xx":
            return self.latest(
                "AWS/CloudFront",
                "5xxErrorRate",
                {"DistributionId": found["Id"], "Region": "Global"},
                "Maximum",
                float,
                region=self.cloudfront_metrics_region,
            )
        raise _unknown_fact(component, fact)

    # ------------------------------------------------------------------ ssm_parameter
    def _ssm_parameter_fact(self, component: Component, name: str, fact: str) -> Any:
        def read() -> dict[str, Any]:
            parameter = self.client("ssm").get_parameter(Name=name, WithDecryption=False)["Parameter"]
            return {
                k: v for k, v in parameter.items() if k in ("Name", "Version", "LastModifiedDate", "Type")
            }

        try:
            parameter = self._read(("ssm", name), f"GetParameter {name}", read)
        except ReadFailed as exc:
            if exc.status == NOT_FOUND and fact == "exists":
                return Observation(False, exc.detail)
            raise
        if fact == "exists":
            return True
        if fact == "version":
            return int(parameter["Version"])
        if fact == "last_modified_age_seconds":
            modified = parameter["LastModifiedDate"]
            return Observation(
                max(int(self.clock() - modified.timestamp()), 0),
                f"LastModifiedDate {modified:%Y-%m-%dT%H:%M:%SZ}",
            )
        raise _unknown_fact(component, fact)

    # ------------------------------------------------------------------ ecr_repository
    def _ecr_repository_fact(self, component: Component, repository: str, fact: str) -> Any:
        ecr = self.client("ecr")
        try:
            self._read(
                ("ecr-repo", repository),
                f"DescribeRepositories {repository}",
                lambda: ecr.describe_repositories(repositoryNames=[repository])["repositories"][0],
            )
        except ReadFailed as exc:
            if exc.status == NOT_FOUND and fact == "exists":
                return Observation(False, exc.detail)
            raise
        if fact == "exists":
            return True
        if fact == "image_count":
            return self._read(
                ("ecr-count", repository),
                f"DescribeImages {repository}",
                lambda: _count_images(ecr, repository),
            )
        raise _unknown_fact(component, fact)

    # ------------------------------------------------------------------ CloudWatch
    def metric(self, type_name: str, fact: str, resource: str) -> Observation:
        """A CloudWatch fact of ``METRICS`` for the resource (its dimension's value)."""
        namespace, metric, dimension, stat, kind = METRICS[type_name][fact]
        return self.latest(namespace, metric, {dimension: resource}, stat, kind)

    def latest(
        self,
        namespace: str,
        metric: str,
        dimensions: dict[str, str],
        stat: str,
        kind: type = float,
        region: str | None = None,
    ) -> Observation:
        """The latest one-minute ``stat`` of a metric in the last ten minutes; none → missing.

        In the connection's region, the model's metrics (``METRICS``) come from one grouped read;
        any other is read on its own."""
        now = datetime.datetime.now(datetime.UTC)
        shown = ",".join(f"{k}={v}" for k, v in dimensions.items())
        what = f"GetMetricData {namespace} {metric} {shown}" + (f" in {region}" if region else "")
        query = _metric_query("latest", namespace, metric, dimensions, stat)
        grouped = self._metric_group() if region is None else None
        series = (grouped or {}).get((namespace, metric, shown, stat))
        if series is None:
            series = self._read(
                ("cloudwatch", region, namespace, metric, shown, stat),
                what,
                lambda: _metric_data(self.client("cloudwatch", region), [query], now, self.cache)["latest"],
            )
        points = sorted(
            zip(series.get("Timestamps") or [], series.get("Values") or [], strict=False), reverse=True
        )
        if not points:
            raise ReadFailed(
                MISSING, f"{what}: no datapoint in the last {METRIC_LOOKBACK.seconds // 60} minutes"
            )
        at, value = points[0]
        value = round(value) if kind is int else float(value)
        return Observation(value, f"{metric} {stat} of the minute at {at:%H:%M} UTC")

    def _metric_group(self) -> dict[tuple, dict[str, Any]] | None:
        """Every ``METRICS`` series of the model's components: (namespace, metric, dimensions,
        statistic) → the series, from one GetMetricData (per 500 series); None without a model or
        when the grouped read was refused."""
        wanted: dict[tuple, dict[str, Any]] = {}
        for type_name, facts in METRICS.items():
            for resource in self._group_ids(type_name):
                for namespace, metric, dimension, stat, _kind in facts.values():
                    key = (namespace, metric, f"{dimension}={resource}", stat)
                    wanted[key] = _metric_query(
                        f"q{len(wanted)}", namespace, metric, {dimension: resource}, stat
                    )
        if not wanted:
            return None
        now = datetime.datetime.now(datetime.UTC)

        def read() -> dict[tuple, dict[str, Any]]:
            queries, found = list(wanted.values()), {}
            for start in range(0, len(queries), MAX_METRIC_QUERIES):
                chunk = queries[start : start + MAX_METRIC_QUERIES]
                if start:
                    self.cache.reads += 1  # each further call is a request of its own
                found.update(_metric_data(self.client("cloudwatch"), chunk, now, self.cache))
            return {key: found.get(query["Id"], {}) for key, query in wanted.items()}

        return self._grouped(("cloudwatch-group",), f"GetMetricData ({len(wanted)} series)", read)


def _metric_query(
    query_id: str, namespace: str, metric: str, dimensions: dict[str, str], stat: str
) -> dict[str, Any]:
    return {
        "Id": query_id,
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


def _metric_data(
    cloudwatch: Any, queries: list[dict[str, Any]], now: datetime.datetime, cache: ReadCache
) -> dict[str, dict[str, Any]]:
    """Query id → {Timestamps, Values} over the lookback (pages merged)."""
    found: dict[str, dict[str, Any]] = {}
    token = None
    while True:
        if token:
            cache.reads += 1  # each further page is a request of its own
        page = cloudwatch.get_metric_data(
            MetricDataQueries=queries,
            StartTime=now - METRIC_LOOKBACK,
            EndTime=now + datetime.timedelta(minutes=1),
            ScanBy="TimestampDescending",
            **({"NextToken": token} if token else {}),
        )
        for result in page.get("MetricDataResults") or []:
            series = found.setdefault(result["Id"], {"Timestamps": [], "Values": []})
            series["Timestamps"] += result.get("Timestamps") or []
            series["Values"] += result.get("Values") or []
        token = page.get("NextToken")
        if not token:
            return found


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    return {"Id": item["Id"], "Status": item.get("Status"), "Enabled": item.get("Enabled")}


def _list_distributions(cloudfront: Any) -> list[dict[str, Any]]:
    items, marker = [], None
    while True:
        page = cloudfront.list_distributions(**({"Marker": marker} if marker else {}))["DistributionList"]
        items += page.get("Items") or []
        marker = page.get("NextMarker") if page.get("IsTruncated") else None
        if not marker:
            return items


def _count_objects(s3: Any, bucket: str) -> int:
    count, token = 0, None
    while True:
        page = s3.list_objects_v2(Bucket=bucket, **({"ContinuationToken": token} if token else {}))
        count += int(page.get("KeyCount") or 0)
        token = page.get("NextContinuationToken") if page.get("IsTruncated") else None
        if not token:
            return count
        if count >= MAX_LISTED_OBJECTS:
            raise ReadFailed(
                MISSING, f"ListObjectsV2 {bucket}: more than {MAX_LISTED_OBJECTS:,} objects, not counted"
            )


def _count_images(ecr: Any, repository: str) -> int:
    count, token = 0, None
    while True:
        page = ecr.describe_images(
            repositoryName=repository,
            filter={"tagStatus": "TAGGED"},
            **({"nextToken": token} if token else {}),
        )
        count += len(page.get("imageDetails") or [])
        token = page.get("nextToken")
        if not token:
            return count


def _unknown_fact(component: Component, fact: str) -> ReadFailed:
    return ReadFailed(MISSING, f"the live probe does not read {component.type}.{fact}")

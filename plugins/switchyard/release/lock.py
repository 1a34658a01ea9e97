"""One release per app at a time: a Kubernetes Lease in the app's namespace.

``max_active_runs`` does not span DAGs (a release and a rollback DAG, or two models of one app),
so the lock lives in the cluster, beside what it protects. A second release fails fast and says
who holds the lock; it never waits silently and never supersedes a run that is mid-switch.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from kubernetes.client import ApiException, CoordinationV1Api, V1Lease, V1LeaseSpec, V1ObjectMeta

from switchyard.release.calls import REQUEST_TIMEOUT, retried

ANNOTATION = "switchyard.io/"


class LockHeld(Exception):
    """Another release of the app holds the lock."""


@dataclass(frozen=True)
class LockHolder:
    run_id: str
    dag_id: str
    version: str
    acquired: dt.datetime | None
    expires: dt.datetime | None

    def describe(self, app: str) -> str:
        since = f" since {self.acquired:%Y-%m-%d %H:%M:%SZ}" if self.acquired else ""
        return f"release {self.version} of {app} is in progress (dag {self.dag_id}, run {self.run_id}{since})"


def lease_name(app: str) -> str:
    return f"switchyard-release-{app}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _micro(moment: dt.datetime) -> str:
    """A Lease's MicroTime as the API wants it in a patch."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _holder(lease: V1Lease) -> LockHolder:
    annotations = lease.metadata.annotations or {}
    spec = lease.spec or V1LeaseSpec()
    acquired = spec.acquire_time
    expires = None
    if spec.renew_time and spec.lease_duration_seconds:
        expires = spec.renew_time + dt.timedelta(seconds=spec.lease_duration_seconds)
    return LockHolder(
        run_id=spec.holder_identity or "",
        dag_id=annotations.get(ANNOTATION + "dag-id", "?"),
        version=annotations.get(ANNOTATION + "version", "?"),
        acquired=acquired,
        expires=expires,
    )


class ReleaseLock:
    """The Lease ``switchyard-release-<app>``; holder identity = the Airflow run id."""

    def __init__(
        self, api: CoordinationV1Api, app: str, namespace: str, request_timeout: float = REQUEST_TIMEOUT
    ) -> None:
        self.api, self.app, self.namespace = api, app, namespace
        self.request_timeout = request_timeout
        self.name = lease_name(app)

    def holder(self) -> LockHolder | None:
        try:
            return _holder(
                retried(
                    self.api.read_namespaced_lease,
                    self.name,
                    self.namespace,
                    _request_timeout=self.request_timeout,
                )
            )
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def acquire(
        self,
        run_id: str,
        dag_id: str,
        version: str,
        ttl_seconds: int,
        holder_ended: Callable[[LockHolder], bool | None] = lambda holder: None,
    ) -> str:
        """Take the lock, or fail fast. Re-running by the same run converges (idempotent).

        Another run's lock is taken over only when that run is over: ``holder_ended(holder)`` asks
        Airflow (True: the run ended or does not exist; False: it still runs, whatever the lease's
        age; None: Airflow could not be asked, so the lease's expiry decides).

        Returns "acquired", "already held by this run" or "took over the lock of ...".
        """
        now = _now()
        body = V1Lease(
            metadata=V1ObjectMeta(
                name=self.name,
                namespace=self.namespace,
                labels={"app": self.app, "app.kubernetes.io/managed-by": "switchyard"},
                annotations={ANNOTATION + "dag-id": dag_id, ANNOTATION + "version": version},
            ),
            spec=V1LeaseSpec(
                holder_identity=run_id, lease_duration_seconds=ttl_seconds, acquire_time=now, renew_time=now
            ),
        )
        try:
            self.api.create_namespaced_lease(self.namespace, body, _request_timeout=self.request_timeout)
            return "acquired"
        except ApiException as exc:
            if exc.status != 409:
                raise
        current = retried(
            self.api.read_namespaced_lease, self.name, self.namespace, _request_timeout=self.request_timeout
        )
        holder = _holder(current)
        if holder.run_id == run_id:
            return "already held by this run"
        ended = holder_ended(holder)
        expired = holder.expires is not None and holder.expires < now
        if ended is False:
            raise LockHeld(
                holder.describe(self.app)
                + "; its run is still running"
                + (", its lease expired" if expired else "")
            )
        if ended or expired:
            body.metadata.resource_version = current.metadata.resource_version
            try:  # replace with the read resourceVersion: if another run won the race, we get 409
                self.api.replace_namespaced_lease(
                    self.name, self.namespace, body, _request_timeout=self.request_timeout
                )
            except ApiException as exc:
                if exc.status == 409:
                    raise LockHeld(
                        _holder(
                            retried(
                                self.api.read_namespaced_lease,
                                self.name,
                                self.namespace,
                                _request_timeout=self.request_timeout,
                            )
                        ).describe(self.app)
                    ) from None
                raise
            why = "its run is over" if ended else "its lease expired and Airflow could not be asked"
            return f"took over the lock of run {holder.run_id} ({why})"
        raise LockHeld(holder.describe(self.app))

    def _read_held_by(self, run_id: str) -> tuple[V1Lease | None, str]:
        """(the lease, "") when ``run_id`` holds it; (None, why not) otherwise."""
        try:
            current = retried(
                self.api.read_namespaced_lease,
                self.name,
                self.namespace,
                _request_timeout=self.request_timeout,
            )
        except ApiException as exc:
            if exc.status == 404:
                return None, "not held"
            raise
        holder = _holder(current)
        if holder.run_id != run_id:
            return None, f"held by another run ({holder.run_id})"
        return current, ""

    def renew(self, run_id: str) -> str:
        """Push the lease's expiry forward if this run holds it (long steps call this)."""
        current, why_not = self._read_held_by(run_id)
        if current is None:
            return why_not + (": not renewed" if why_not != "not held" else "")
        self.api.patch_namespaced_lease(
            self.name,
            self.namespace,
            {"spec": {"renewTime": _micro(_now())}},
            _request_timeout=self.request_timeout,
        )
        return "renewed"

    def release(self, run_id: str) -> str:
        """Release the lock if this run holds it; never release someone else's lock."""
        current, why_not = self._read_held_by(run_id)
        if current is None:
            return why_not + ("; left in place" if why_not != "not held" else "")
        try:
            self.api.delete_namespaced_lease(
                self.name,
                self.namespace,
                body={"preconditions": {"resourceVersion": current.metadata.resource_version}},
                _request_timeout=self.request_timeout,
            )
        except ApiException as exc:
            if exc.status == 404:
                return "already released"
            if exc.status != 409:
                raise
            # the lease changed between our read and our delete: say what it is now
            now = self.holder()
            if now is None:
                return "already released"
            if now.run_id != run_id:
                return f"not released by this run: taken over meanwhile by run {now.run_id} ({now.dag_id})"
            return self.release(run_id)  # only renewed meanwhile (by this run): try again
        return "released"

"""Operators for the release runbook's steps (seed 003), in the order the DAG runs them."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import yaml
from airflow.sdk import Context
from airflow.sdk.exceptions import AirflowFailException

from switchyard.airflow.artifacts import ArtifactLink, publish_artifact, write_artifact
from switchyard.airflow.operators.base import ACTIVE_RUN_STATES, SwitchyardOperator, airflow_run_state
from switchyard.airflow.triggers import MIN_DEFERRAL_SECONDS
from switchyard.release.calls import REQUEST_TIMEOUT, retried
from switchyard.release.colours import other
from switchyard.release.evidence import ROLLOUT_INCOMPLETE

MIGRATION_ANNOTATION = "io.switchyard.requires-migration"


def image_requires_migration(repository: str, tag: str, aws_conn_id: str) -> tuple[bool | None, str]:
    """Whether the image says it needs a migration: the OCI manifest annotation
    ``io.switchyard.requires-migration`` (the runbook's REQUIRES_MIGRATION label, readable from
    ECR without pulling). (None, why) when ECR cannot be asked."""
    from switchyard.probes.clients import aws_client
    from switchyard.probes.errors import from_aws

    try:
        ecr = aws_client("ecr", aws_conn_id, 10.0)
        images = ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageTag": tag}])["images"]
    except Exception as exc:
        failed = from_aws(exc, f"BatchGetImage {repository}:{tag}")
        return None, f"{failed.status}: {failed.detail}"
    if not images:
        return None, f"no image {repository}:{tag} in ECR"
    manifest = json.loads(images[0].get("imageManifest") or "{}")
    return str(
        (manifest.get("annotations") or {}).get(MIGRATION_ANNOTATION, "")
    ).lower() == "true", "manifest"


def _as_bool(value: Any) -> bool:
    return value is True or str(value).strip().lower() in ("true", "1", "yes")


class ReleaseLockOperator(SwitchyardOperator):
    """Take (``acquire``) or give back (``release``) the app's release lock, a Kubernetes Lease.

    :param action: ``acquire`` or ``release``
    :param version: the version being released (shown to a second release that finds the lock)
    :param ttl_seconds: how long the lock lasts without renewal: longer than the whole release
    """

    template_fields: Sequence[str] = ("model_path", "version")

    def __init__(self, *, action: str, version: str = "", ttl_seconds: int = 6 * 3600, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if action not in ("acquire", "release"):
            raise ValueError(f"action {action!r} must be acquire or release")
        self.action, self.version, self.ttl_seconds = action, version, ttl_seconds

    def execute(self, context: Context) -> str:
        from switchyard.release.lock import LockHeld

        lock = self.release_lock()
        run_id, dag_id = context["run_id"], context["dag"].dag_id
        if self.action == "release":
            outcome = lock.release(run_id)
            self.decide(context, f"lease {lock.name}", outcome)
            return outcome

        def holder_ended(holder) -> bool | None:
            # ask Airflow, as the drift check does: a dead run's lock is taken over at once, a
            # running one's never, whatever the lease's age
            state = airflow_run_state(context["ti"], holder.dag_id, holder.run_id)
            self.log.info("lock held by run %s of %s: Airflow says %s", holder.run_id, holder.dag_id, state)
            return None if state is None else state not in ACTIVE_RUN_STATES

        try:
            outcome = lock.acquire(run_id, dag_id, self.version, self.ttl_seconds, holder_ended)
        except LockHeld as exc:
            self.decide(context, str(exc), "fail fast: one release per app at a time", stops=True)
            raise AirflowFailException(str(exc)) from None
        self.decide(context, f"lease {lock.name}", outcome)
        return outcome


class VersionInHistoryOperator(SwitchyardOperator):
    """Rollback-to-version (seed 004): the version must be one this app has released before.

    :param version: the version to go back to
    """

    template_fields: Sequence[str] = ("model_path", "version")

    def __init__(self, *, version: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.version = version

    def execute(self, context: Context) -> dict[str, Any]:

        spec = self.spec
        records = self.history().read()
        known = [
            r
            for r in records
            if r.version == self.version and r.status in ("Active", "Superseded", "RolledBack")
        ]
        if not known:
            listed = ", ".join(f"{r.version} ({r.status})" for r in reversed(records)) or "none recorded"
            self.decide(
                context, f"{self.version} not in the history of {spec.app}", "refuse to roll back", stops=True
            )
            raise AirflowFailException(
                f"{self.version} is not a version {spec.app} has served (history, newest first: {listed})"
            )
        record = known[-1]
        self.decide(
            context,
            f"release #{record.number} {record.version} ({record.status}, {record.started_at})",
            f"roll back to {self.version}",
        )
        return {"number": record.number, "version": record.version, "images": record.images}


class PlanReleaseOperator(SwitchyardOperator):
    """Which colour is live (from the app's switch), which is standby, what runs now, and
    whether a migration is needed. Returns the plan every later task reads from XCom.

    :param version: the image tag to release
    :param run_migration: ``auto`` (the image says so in ECR), ``yes`` or ``no``
    :param aws_conn_id: AWS connection for the ECR lookup
    :param canary_percent: the canary's share of the traffic (0: no canary); a split the app's
        switch or Ingress cannot make is refused here, before anything changes
    """

    template_fields: Sequence[str] = ("model_path", "version", "run_migration", "canary_percent")

    def __init__(
        self,
        *,
        version: str,
        run_migration: str = "auto",
        aws_conn_id: str = "aws_default",
        canary_percent: Any = 0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.version, self.run_migration, self.aws_conn_id = version, run_migration, aws_conn_id
        self.canary_percent = canary_percent

    def _canary_refusal(self) -> str:
        from switchyard.release.canary import CanaryIngress, canary_refusal

        percent = float(self.canary_percent or 0)
        if percent <= 0:
            return ""
        spec = self.spec
        return (
            canary_refusal(spec.switch, percent)
            or CanaryIngress(self.api_client, spec.service, spec.namespace, log=self.log.info).refusal()
        )

    def execute(self, context: Context) -> dict[str, Any]:

        from switchyard.release.workloads import Workloads, with_tag

        spec = self.spec
        refusal = self._canary_refusal()
        if refusal:
            self.decide(context, refusal, "refuse the canary: nothing changed", stops=True)
            raise AirflowFailException(refusal)
        switch = self.traffic_switch()
        live = switch.live_colour()
        workloads = Workloads(self.api_client, spec.layout, log=self.log.info)
        if live is None:  # first deployment (seed 004): no colour selected yet
            live_running = [
                c
                for c in spec.layout.components("blue") + spec.layout.components("green")
                if workloads.read(c)
            ]
            if live_running:
                raise AirflowFailException(
                    f"{switch.where} selects no colour but deployments exist "
                    f"({', '.join(live_running)}): {switch.instruction('blue')} (or green: the colour "
                    "that serves) before releasing"
                )
            # Standby manifests are rendered from the live colour, so the first colour is not ours to
            # invent: say exactly what to do, change nothing (no switch-back target, no cleanup).
            self.decide(
                context,
                f"{switch.where} selects no colour and no {spec.app} deployment exists",
                "stop: first deployment",
                stops=True,
            )
            raise AirflowFailException(
                f"first deployment of {spec.app}: there is no live colour to render the standby from. Deploy "
                f"the first colour yourself (deployments {', '.join(spec.layout.components('blue'))} labelled "
                f"color: blue) and {switch.instruction('blue')}; later releases go blue ↔ green"
            )
        else:
            standby = other(live)
            first = workloads.read(spec.layout.serving(live)[0])
            image = (
                (first or {})
                .get("spec", {})
                .get("template", {})
                .get("spec", {})
                .get("containers", [{}])[0]
                .get("image", "")
            )
            live_version = image.rsplit(":", 1)[-1] if ":" in image else ""
            own = self.history().find(context["run_id"])
            if own and own.status == "InProgress" and own.colour == live and own.version == self.version:
                # This run switched, then crashed before it verified (the whole run was cleared):
                # keep the colours it planned, so it resumes at the switch's verification and goes
                # on to the gate, watch, bake and cleanup instead of "already live".
                self.log.info(
                    "run %s already switched %s to %s (record #%d in progress): resuming",
                    context["run_id"],
                    spec.service,
                    live,
                    own.number,
                )
                live, standby, live_version = other(live), live, own.previous_version
        if live_version and live_version == self.version:
            raise AirflowFailException(
                f"version {self.version} is already live on {live}: nothing to release (roll back with the rollback DAG)"
            )
        mode = str(self.run_migration)
        if mode == "auto":
            flag, why = image_requires_migration(spec.image_repository, self.version, self.aws_conn_id)
            if flag is None and why.startswith("no image"):
                flag = False  # the image pre-check stops this release with a clear message
            elif flag is None:
                raise AirflowFailException(
                    f"run_migration=auto but the image's migration label could not be read ({why}): "
                    "set run_migration to yes or no"
                )
            needs_migration = flag
        else:
            needs_migration = mode == "yes"
        live_replicas = {}
        if live:
            for component in spec.layout.components(live):
                obj = workloads.read(component)
                live_replicas[component] = int(((obj or {}).get("spec") or {}).get("replicas") or 0)
        migration_image = ""
        if spec.migration_from and live:
            source = workloads.read(spec.layout.tiers[spec.migration_from][live]) or {}
            containers = source.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [{}])
            migration_image = with_tag(containers[0].get("image", ""), self.version) if containers else ""
        plan = {
            "app": spec.app,
            "namespace": spec.namespace,
            "live": live or "",
            "standby": standby,
            "live_version": live_version,
            "version": self.version,
            "first_deployment": live is None,
            "run_migration": needs_migration,
            "standby_components": spec.layout.components(standby),
            "switch": spec.switch,
            "image": migration_image,
            "live_replicas": live_replicas,
            "migration_command": list(spec.migration_command),
        }
        self.decide(
            context,
            f"{switch.where} selects {live or 'no colour (first deployment)'} running {live_version or '-'}",
            f"release {self.version} to {standby}; migration {'yes' if needs_migration else 'no'} ({mode})",
            plan=plan,
        )
        return plan


class BackupLiveOperator(SwitchyardOperator):
    """Save the live deployments and the objects of the switch (the Service; the gateway's ConfigMap)
    as a run artefact before anything changes."""

    template_fields: Sequence[str] = ("model_path", "live")
    operator_extra_links = (ArtifactLink(),)

    def __init__(self, *, live: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.live = live

    def execute(self, context: Context) -> str:

        from switchyard.release.workloads import Workloads

        spec = self.spec
        workloads = Workloads(self.api_client, spec.layout, log=self.log.info)
        documents = []
        names = spec.layout.components(self.live) if self.live else []
        for name in names:
            obj = workloads.read(name)
            if obj is not None:
                obj.pop("status", None)
                documents.append(obj)
        switch = self.traffic_switch()
        held = switch.backup()  # the Service (and the gateway's ConfigMap): what traffic goes through
        documents.extend(held)
        text = yaml.safe_dump_all(documents, sort_keys=False)
        path = write_artifact(context["dag"].dag_id, context["run_id"], "backup-before-release.yaml", text)
        publish_artifact(context, path)
        self.decide(
            context,
            f"{len(documents) - len(held)} live deployment(s) and {switch.where}",
            f"backed up to {path}",
        )
        return str(path)


class ImageInRegistryOperator(SwitchyardOperator):
    """The version's image exists in ECR (an image that cannot be pulled never becomes ready)."""

    template_fields: Sequence[str] = ("model_path", "version")

    def __init__(self, *, version: str, aws_conn_id: str = "aws_default", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.version, self.aws_conn_id = version, aws_conn_id

    def execute(self, context: Context) -> bool:
        from switchyard.probes.ecr import find_image

        repository = self.spec.image_repository
        found = find_image(repository, self.version, aws_conn_id=self.aws_conn_id)
        exists = found.exists
        if exists is None:
            raise AirflowFailException(
                f"cannot tell whether {repository}:{self.version} exists in ECR ({found.status}): {found.detail}"
            )
        if not exists:
            self.decide(
                context, f"no image {repository}:{self.version} in ECR", "stop before deploying", stops=True
            )
            raise AirflowFailException(
                f"image {repository}:{self.version} is not in ECR repository {repository}: push it or fix the version"
            )
        self.decide(context, f"image {repository}:{self.version} in ECR", "continue")
        return True


class StandbyDeploymentsOperator(SwitchyardOperator):
    """Render the standby colour's deployments from the live ones with the new image, and either
    dry-run them on the server (``dry_run=True``: the pre-check) or apply them, wait for the
    rollout and hold a grace period (seed 004's 2 minutes) before declaring them ready.

    :param plan: the release plan (XCom of the plan task)
    :param dry_run: only ask the API server to validate the manifests
    :param rollout_timeout_seconds: how long the standby rollout may take
    :param grace_seconds: how long the standby must stay ready after its rollout
    """

    template_fields: Sequence[str] = (
        "model_path",
        "plan",
        "dry_run",
        "rollout_timeout_seconds",
        "grace_seconds",
    )

    def __init__(
        self,
        *,
        plan: Any,
        dry_run: Any = False,
        rollout_timeout_seconds: Any = 600,
        grace_seconds: Any = 120,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.plan, self.dry_run = plan, dry_run
        self.rollout_timeout_seconds, self.grace_seconds = rollout_timeout_seconds, grace_seconds

    def _plan(self) -> dict[str, Any]:
        return self.plan if isinstance(self.plan, dict) else json.loads(self.plan)

    def execute(self, context: Context) -> Any:

        from switchyard.release.workloads import Workloads

        plan = self._plan()
        workloads = Workloads(self.api_client, self.spec.layout, log=self.log.info)
        live = plan["live"] or plan["standby"]
        # A rollback to a version restores the images its record says were released.
        recorded = (context["ti"].xcom_pull(task_ids="version_in_history") or {}).get("images") or {}
        bodies = (
            workloads.render_standby(live, plan["version"], context["run_id"], images=recorded)
            if plan["live"]
            else []
        )
        if not bodies:
            raise AirflowFailException(
                "first deployment: no live colour to render from — create the first colour's deployments by hand or from manifests"
            )
        if _as_bool(self.dry_run):
            results = [
                f"{b['metadata']['name']}: {workloads.apply(b, dry_run=True)} (dry run)" for b in bodies
            ]
            self.decide(
                context,
                f"{len(bodies)} standby manifest(s) rendered",
                "server-side dry run accepted them",
                results=results,
            )
            return results
        history = self.history()
        record = history.begin(
            context["run_id"],
            context["dag"].dag_id,
            plan["version"],
            plan["standby"],
            plan["live_version"],
            reason=str((context.get("params") or {}).get("reason") or ""),
        )
        self.log.info(
            "release record #%d: %s to %s (in progress)", record.number, plan["version"], plan["standby"]
        )
        for body in bodies:
            self.log.info("%s: %s", body["metadata"]["name"], workloads.apply(body))
        names = [b["metadata"]["name"] for b in bodies]
        self.renew_lock(context)
        not_ready = workloads.wait_ready(names, timeout=float(self.rollout_timeout_seconds))
        if not_ready:
            # Not ready in time: this step failed (no retry: it would wait the whole timeout again);
            # the standby gate still runs on the unfinished rollout and names the root cause.
            detail = "; ".join(f"{c}: {why}" for c, why in not_ready.items())
            saw = f"standby {plan['standby']} not rolled out after {self.rollout_timeout_seconds}s: {detail}"
            self.decide(context, saw, "fail; the standby gate names the root cause", stops=True)
            context["ti"].xcom_push(key=ROLLOUT_INCOMPLETE, value=not_ready)
            raise AirflowFailException(saw)
        grace = float(self.grace_seconds)
        if 0 < grace < MIN_DEFERRAL_SECONDS:
            # Too short to defer safely (see MIN_DEFERRAL_SECONDS): hold the slot for these seconds.
            self.log.info("standby ready; holding a %.0fs grace period before the gate", grace)
            time.sleep(grace)
        elif grace > 0:
            from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger

            self.log.info(
                "standby ready; holding a %.0fs grace period (no worker slot) before the gate", grace
            )
            self.defer(
                trigger=TimeDeltaTrigger(timedelta(seconds=grace)),
                method_name="after_grace",
                kwargs={"names": names},
            )
        return self._still_ready(context, names, plan)

    def after_grace(self, context: Context, event: Any = None, names: list[str] | None = None) -> Any:
        self.renew_lock(context)
        plan = self._plan()
        # the deployments it rendered: every per-colour one of the standby colour (a resumed task may
        # not get the kwargs given to defer(); an empty list would re-check nothing)
        return self._still_ready(context, names or self.spec.layout.components(plan["standby"]), plan)

    def _still_ready(self, context: Context, names: list[str], plan: dict[str, Any]) -> list[str]:
        from switchyard.release.workloads import Workloads

        workloads = Workloads(self.api_client, self.spec.layout, log=self.log.info)
        relapsed = {n: why for n in names for done, why in [workloads.rollout_status(n)] if not done}
        if relapsed:
            detail = "; ".join(f"{c}: {why} {workloads.pod_trouble(c)}" for c, why in relapsed.items())
            context["ti"].xcom_push(key=ROLLOUT_INCOMPLETE, value=relapsed)  # the standby gate diagnoses it
            raise AirflowFailException(
                f"standby {plan['standby']} lost readiness during the grace period: {detail}"
            )
        self.decide(
            context,
            f"standby {plan['standby']} ready at {plan['version']} after the grace period",
            "go to the standby gate",
        )
        return names


class SmokeTestOperator(SwitchyardOperator):
    """Health, readiness and the app's API paths on the standby colour, through the API server's
    service proxy and a preview Service that selects only that colour.

    :param colour: the colour to test
    :param requests_per_path: requests per path; every one must answer 2xx
    """

    template_fields: Sequence[str] = ("model_path", "colour")

    def __init__(self, *, colour: str, requests_per_path: int = 3, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.colour, self.requests_per_path = colour, requests_per_path

    def execute(self, context: Context) -> dict[str, Any]:
        from kubernetes.client import ApiException

        spec = self.spec
        switch = self.traffic_switch()
        preview = switch.ensure_preview(self.colour)
        ready, _ = switch.endpoint_pods(preview)
        if not ready:
            switch.sleep(2)
        core = self.core
        results: dict[str, str] = {}
        failures = []
        for path in spec.smoke_paths:
            for attempt in range(self.requests_per_path):
                try:
                    core.connect_get_namespaced_service_proxy_with_path(
                        f"{preview}:{spec.smoke_port}", spec.namespace, path.lstrip("/"), _request_timeout=10
                    )
                    results[path] = "2xx"
                except ApiException as exc:
                    results[path] = f"HTTP {exc.status}"
                    failures.append(f"{path} (request {attempt + 1}): HTTP {exc.status} {exc.reason}")
                    break
        if failures:
            self.decide(
                context,
                f"smoke tests on {self.colour}: {'; '.join(failures)}",
                "stop before the switch",
                stops=True,
            )
            raise AirflowFailException(
                f"smoke tests on {self.colour} via {preview} failed: {'; '.join(failures)}"
            )
        self.decide(
            context,
            f"{len(spec.smoke_paths)} path(s) answered 2xx on {self.colour}",
            "continue",
            results=results,
        )
        return results


class TrafficSwitchOperator(SwitchyardOperator):
    """The switch: move traffic to ``target`` and prove it moved; in the same step hand the queue
    over (the new colour's workers up to the old colour's count, the old colour's to 0).

    :param target: the colour to switch to
    :param verify_timeout_seconds: how long endpoints may take to converge
    :param workers_ready_timeout_seconds: how long the handed-over queue workers may take to roll out
        before the switch returns (the gate after the switch then judges them either way)
    """

    template_fields: Sequence[str] = ("model_path", "target")

    def __init__(
        self,
        *,
        target: str,
        verify_timeout_seconds: float = 60.0,
        workers_ready_timeout_seconds: float = 120.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.target, self.verify_timeout_seconds = target, verify_timeout_seconds
        self.workers_ready_timeout_seconds = workers_ready_timeout_seconds

    def execute(self, context: Context) -> dict[str, Any]:

        from switchyard.release.records import now_iso
        from switchyard.release.switch import (
            SwitchNotVerified,
        )
        from switchyard.release.workloads import Workloads, hand_over_workers

        spec = self.spec
        self.renew_lock(context)
        try:
            result = self.traffic_switch().switch(self.target, timeout=self.verify_timeout_seconds)
        except SwitchNotVerified as exc:
            self.decide(context, str(exc), "fail: traffic is not verified on the target colour", stops=True)
            raise AirflowFailException(str(exc)) from None
        workloads = Workloads(self.api_client, spec.layout, log=self.log.info)
        handover = hand_over_workers(workloads, self.target)
        # The queue workers were at 0 on the standby and scale up now: let them finish rolling out
        # (bounded) so the gate after the switch judges them running, not starting by design. Traffic
        # is already on the new colour: a worker pod stuck crash-looping ends the wait at once, so
        # the gate (and the rollback it calls for) comes now, not after the timeout.
        workers = [w for w in spec.layout.workers if w in spec.layout.components(self.target)]
        starting = workloads.wait_ready(
            workers, timeout=float(self.workers_ready_timeout_seconds), stop_on_stuck_pods=True
        )
        if starting:
            self.log.warning(
                "workers not rolled out (stuck, or not within %ss; the gate after the switch judges them): %s",
                self.workers_ready_timeout_seconds,
                "; ".join(f"{w}: {why}" for w, why in starting.items()),
            )
        images = {
            c: (
                ((workloads.read(c) or {}).get("spec") or {})
                .get("template", {})
                .get("spec", {})
                .get("containers")
                or [{}]
            )[0].get("image", "")
            for c in spec.layout.components(self.target)
        }
        self.history().finish(context["run_id"], "Active", images=images)
        outcome = result.as_dict() | {"workers": handover, "switched_at": now_iso()}
        self.decide(
            context,
            f"traffic on {result.previous or 'nothing'}",
            f"switched to {self.target} ({'patched' if result.changed else 'already switched'}), verified",
            result=outcome,
        )
        return outcome


def migration_job_name(app: str, version: str, run_id: str) -> str:
    """One Job per release run: a retry of the run finds it instead of migrating twice, and a later
    run never inherits an earlier run's Job (a failed one would fail it; a completed one would
    report a migration it did not run)."""
    import hashlib

    slug = "".join(ch if ch.isalnum() else "-" for ch in version.lower()).strip("-")
    run = hashlib.sha256(run_id.encode()).hexdigest()[:8]
    return f"{f'{app}-migrate-{slug}'[:54].rstrip('-')}-{run}"


class MigrationJobOperator(SwitchyardOperator):
    """The database migration as a Kubernetes Job with the new image, through the provider's
    ``KubernetesHook`` (get_job_status / is_job_successful / is_job_failed). The Job is named after
    the version and the run, so a retry converges on the same Job instead of migrating twice (the
    provider's ``KubernetesJobOperator`` adds a random suffix per try) and a later run makes its
    own. While the Job runs the task is deferred (no worker slot). Its logs go to the task log;
    a failure stops the release before any switch.

    :param plan: the release plan (image, namespace, command)
    :param timeout_seconds: how long the migration may run
    :param poll_seconds: how often the Job's status is read
    """

    template_fields: Sequence[str] = ("model_path", "plan")

    def __init__(
        self, *, plan: Any, timeout_seconds: float = 1800, poll_seconds: float = 5.0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.plan, self.timeout_seconds, self.poll_seconds = plan, timeout_seconds, poll_seconds

    def _plan(self) -> dict[str, Any]:
        return self.plan if isinstance(self.plan, dict) else json.loads(self.plan)

    def execute(self, context: Context) -> dict[str, Any]:
        import time as _time

        from kubernetes.client import ApiException

        plan = self._plan()
        namespace = plan["namespace"]
        name = migration_job_name(plan["app"], plan["version"], context["run_id"])
        batch = self.hook.batch_v1_client
        body = {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": {
                    "app": plan["app"],
                    "switchyard.io/step": "migration",
                    "app.kubernetes.io/managed-by": "switchyard",
                },
                "annotations": {
                    "switchyard.io/version": plan["version"],
                    "switchyard.io/release-run": context["run_id"],
                },
            },
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "metadata": {"labels": {"app": plan["app"], "switchyard.io/step": "migration"}},
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [
                            {
                                "name": "migrate",
                                "image": plan["image"],
                                "command": list(plan["migration_command"]) or None,
                            }
                        ],
                    },
                },
            },
        }
        try:
            batch.create_namespaced_job(namespace, body, _request_timeout=REQUEST_TIMEOUT)
            self.log.info("created job %s/%s with %s", namespace, name, plan["image"])
        except ApiException as exc:
            if exc.status != 409:
                raise
            self.log.info("job %s/%s exists (a retry of this run): waiting for its outcome", namespace, name)
        # the deadline lives in the task state store: a resumed task gets only the trigger's event
        # (kwargs passed to defer() are not handed back by every runner, dag.test() among them)
        deadline = _time.time() + float(self.timeout_seconds)
        try:
            context["task_state_store"].set("migration_deadline", deadline)
        except Exception as exc:  # bookkeeping must never fail the migration: the timeout restarts
            self.log.warning("could not keep the migration deadline (%s): a resume counts afresh", exc)
        # Most migrations end within seconds: look a few times before deferring (a deferral shorter
        # than MIN_DEFERRAL_SECONDS races Airflow's scheduler).
        for _ in range(int(MIN_DEFERRAL_SECONDS)):
            job = self.hook.get_job_status(name, namespace)
            if self.hook.is_job_successful(job) or self.hook.is_job_failed(job):
                break
            _time.sleep(1)
        return self.check_job(context)

    def check_job(self, context: Context, event: Any = None) -> dict[str, Any]:
        """Read the Job once; done → judge it, else defer until the next look (no worker slot)."""
        import time as _time

        from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger

        plan = self._plan()
        namespace, name = (
            plan["namespace"],
            migration_job_name(plan["app"], plan["version"], context["run_id"]),
        )
        try:
            kept = float(context["task_state_store"].get("migration_deadline") or 0)
        except Exception:  # unreadable bookkeeping: count the timeout from now
            kept = 0.0
        deadline = kept or _time.time() + float(self.timeout_seconds)
        self.renew_lock(context)
        job = self.hook.get_job_status(name, namespace)
        if not (self.hook.is_job_successful(job) or self.hook.is_job_failed(job)):
            if _time.time() > deadline:
                raise AirflowFailException(
                    f"migration job {namespace}/{name} still running after {self.timeout_seconds}s"
                )
            self.defer(
                trigger=TimeDeltaTrigger(
                    timedelta(seconds=max(float(self.poll_seconds), MIN_DEFERRAL_SECONDS))
                ),
                method_name="check_job",
            )
        logs = self._logs(namespace, name)
        for line in logs.splitlines():
            self.log.info("migration | %s", line)
        failed = self.hook.is_job_failed(job)
        if failed:
            tail = " / ".join(logs.strip().splitlines()[-3:])
            self.decide(
                context,
                f"migration job {name} failed ({failed}): {tail}",
                "stop before the switch",
                stops=True,
            )
            raise AirflowFailException(f"migration {name} failed ({failed}); last lines: {tail}")
        self.history().set_fields(context["run_id"], migration=True)
        self.decide(context, f"migration job {name} completed", "continue", job=name)
        return {"job": name, "log_lines": len(logs.splitlines())}

    def _logs(self, namespace: str, job: str) -> str:
        """The Job's pods' logs as text (read raw: the client would hand back a bytes repr)."""
        core = self.core
        pods = retried(
            core.list_namespaced_pod,
            namespace,
            label_selector=f"job-name={job}",
            _request_timeout=REQUEST_TIMEOUT,
        ).items
        texts = []
        for pod in pods:
            raw = retried(
                core.read_namespaced_pod_log,
                pod.metadata.name,
                namespace,
                _preload_content=False,
                _request_timeout=REQUEST_TIMEOUT,
            )
            texts.append(raw.data.decode("utf-8", errors="replace"))
        return "\n".join(texts)

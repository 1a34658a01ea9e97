"""A fresh cluster for whole-DAG tests (tests/dags, tests/deploy)."""

from __future__ import annotations

from pathlib import Path

DEMO_BEHAVIOURS = Path(__file__).resolve().parents[1] / "include" / "behaviours" / "acme-shop.yaml"


def start_release_cluster(local_env, state_dir, artifacts_dir, monkeypatch, rbac=None):
    """A freshly seeded cluster for a whole-DAG run (blue live at v1, green absent) on its own
    emulator, AWS (moto) shared from the session environment, and the Airflow connections and
    artefacts directory pointed at it. The caller stops it. ``rbac``: manifests to enforce."""
    from switchyard.localenv.connections import airflow_connections, env_vars
    from switchyard.localenv.environment import DEFAULT_MODEL, LocalEnvironment

    env = LocalEnvironment(
        DEFAULT_MODEL,
        behaviours=DEMO_BEHAVIOURS,
        time_scale=60.0,
        state_dir=state_dir,
        with_aws=False,
        metrics_period=1.0,
        rbac=rbac,
    )
    env.start()
    conns = airflow_connections(
        kubeconfig_path=str(env.kubeconfig_path),
        namespace="default",
        aws_endpoint=local_env.aws_endpoint,
        region=local_env.region,
        prometheus_url=env.prometheus_url,
    )
    for name, value in env_vars(conns).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SWITCHYARD_ARTIFACTS_DIR", str(artifacts_dir))
    return env

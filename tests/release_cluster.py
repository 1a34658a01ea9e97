"""A fresh cluster for whole-DAG tests (tests/dags, tests/deploy)."""

from __future__ import annotations

from pathlib import Path

INCLUDE = Path(__file__).resolve().parents[1] / "include"
DEMO_BEHAVIOURS = INCLUDE / "behaviours" / "acme-shop.yaml"
_IMAGES_SEEDED: set[str] = set()  # ECR repositories pushed to the session's moto


def start_release_cluster(
    local_env, state_dir, artifacts_dir, monkeypatch, rbac=None, model=None, behaviours=None
):
    """A freshly seeded cluster for a whole-DAG run (blue live at v1, green absent) on its own
    emulator, AWS (moto) shared from the session environment, and the Airflow connections and
    artefacts directory pointed at it. The caller stops it. ``rbac``: manifests to enforce.
    ``model``/``behaviours``: another app than acme-shop (its images are pushed to the session's
    ECR once)."""
    from switchyard.localenv.behaviours import load_behaviours_file
    from switchyard.localenv.connections import airflow_connections, env_vars
    from switchyard.localenv.environment import DEFAULT_MODEL, LocalEnvironment
    from switchyard.localenv.seeding import INITIAL_TAG

    behaviours = behaviours or DEMO_BEHAVIOURS
    if model is not None:
        app = Path(model).name.removesuffix(".model.yaml")
        if app not in _IMAGES_SEEDED and local_env.aws is not None:
            local_env.aws.seed_images(app, load_behaviours_file(behaviours), [INITIAL_TAG])
            _IMAGES_SEEDED.add(app)
    env = LocalEnvironment(
        model or DEFAULT_MODEL,
        behaviours=behaviours,
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


def single_model_include(directory: Path, app: str = "acme-shop") -> Path:
    """An include directory holding one model and its scenarios, for the drift check (which maps
    over every model of ``$SWITCHYARD_INCLUDE_DIR``) on a cluster seeded from that model alone."""
    import shutil

    include = directory / f"{app}-include"
    (include / "models").mkdir(parents=True, exist_ok=True)
    shutil.copy(INCLUDE / "models" / f"{app}.model.yaml", include / "models")
    if (INCLUDE / "scenarios" / app).is_dir():
        shutil.copytree(INCLUDE / "scenarios" / app, include / "scenarios" / app, dirs_exist_ok=True)
    return include

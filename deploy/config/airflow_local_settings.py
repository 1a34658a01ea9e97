"""Airflow local settings of Switchyard's stack: every Airflow process imports this module while
its settings initialise (``make stack`` puts this folder on PYTHONPATH; docker-compose mounts it as
``$AIRFLOW_HOME/config``).

It only installs the task-import preload (``switchyard.airflow.preload``), which does nothing
unless ``SWITCHYARD_PRELOAD_TASK_IMPORTS`` is set: in the scheduler (LocalExecutor) and the Celery
workers, the processes that fork tasks. An existing Airflow with its own local settings calls
``switchyard.airflow.preload.install()`` from them instead.
"""

from switchyard.airflow.preload import install

__all__: list[str] = []  # no cluster policies here: Airflow looks for them among the public names

install()

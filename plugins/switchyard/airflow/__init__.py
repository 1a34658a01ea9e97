"""Airflow adapters: what turns the release domain into DAG tasks — operators (thin: ask the
domain, decide, return), the watch's trigger, notifications, run notes, run artefacts, the
trigger form's params and the Releases view in the Airflow UI.

Modules: ``operators/`` (one module per stage of the release, the drift checks, the summary),
``triggers``, ``params``, ``failures``, ``notifications``, ``notes``, ``artifacts`` and ``ui/``.
What only ``execute`` needs (the Kubernetes client, provider hooks, the switch, workloads, records,
lock, the engine's diagnosis) is imported inside it: the DAG files import this package at every
parse (``benchmarks/engine_bench.py dag-parse``).

May import: Airflow and its providers, ``switchyard.engine``, ``switchyard.release``,
``switchyard.probes`` and itself. Never the local environment (``tests/test_layers.py``).
"""

"""Airflow adapters: operators (thin: ask the domain, decide, return), triggers, notifications, run
notes, run artefacts and the Releases view.

May import: Airflow and its providers, ``switchyard.engine``, ``switchyard.release``,
``switchyard.probes`` and itself. Never the local environment (``tests/test_layers.py``).
"""

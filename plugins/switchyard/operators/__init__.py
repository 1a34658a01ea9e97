"""Airflow operators of the release and drift-check DAGs: thin, each asks a module, decides, returns.

This package imports Airflow; the engine (``switchyard`` minus ``operators``, ``probes`` and
``localenv``) does not.
"""

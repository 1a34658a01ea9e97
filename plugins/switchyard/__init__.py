"""Switchyard: blue/green release orchestration gated by a model-based diagnosis engine.

The engine (this package, minus ``localenv`` and the Airflow operators) has no Airflow import:
it is a library and a CLI (``python -m switchyard``).
"""

__version__ = "0.1.0"

"""Switchyard: blue/green release orchestration gated by a model-based diagnosis engine.

Layers, each a folder that says what it may import (``tests/test_layers.py`` enforces it):

* ``engine/`` — the diagnosis engine, pure Python (no Airflow, no Kubernetes or AWS client);
* ``release/`` — the release domain (colours, switch, workloads, lock, records, drift), no Airflow;
* ``probes/`` — live reads through the Airflow providers' hooks;
* ``airflow/`` — operators, triggers, notifications, notes, artefacts and the Releases view;
* ``localenv/`` — the local environment (emulators) and the demo; nothing else imports it.

``cli.py`` (``python -m switchyard``) is the command line over the engine (and the probes for
``diagnose --live``).
"""

__version__ = "0.1.0"

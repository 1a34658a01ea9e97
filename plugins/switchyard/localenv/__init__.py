"""Switchyard's local environment: a Kubernetes API emulator, a Prometheus emulator and local AWS
(moto), seeded from a model, so DAG code runs its real provider hooks over HTTP without a cluster;
plus the process stack (``make stack``) and the demo that run on it.

Start it with ``python -m switchyard.localenv up`` (``make env``) or, in Python,
``switchyard.localenv.environment.LocalEnvironment``; the demo is ``demo``.

May import anything of ``switchyard``; nothing outside this package (and the tests) imports it.
"""

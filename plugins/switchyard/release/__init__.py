"""The release domain: what a blue/green release of an app is and does, independent of Airflow —
which colour is live and how traffic moves, the standby's workloads, the lock, the release
records, what made a release stop, the drift checks and the conventions of the systems released.

Modules: colours (``colours``), the model's ``release:`` section (``spec``, validated by
``schema`` against ``release.schema.json``), labels, PromQL and resource tags (``conventions``),
the traffic switch (``switch``), the standby's workloads (``workloads``), the release lock
(``lock``), release records (``records``), the watch and bake checkpoints (``checkpoints``), what
made a release stop (``evidence``), the drift checks (``drift``), ``model discover``
(``discover``), and how every Kubernetes API call is made — its request timeout, its explicit
retries (``calls``).

May import: ``switchyard.engine``, the kubernetes client, and itself. Never Airflow, never the
probes or the local environment (``tests/test_layers.py`` enforces this).
"""

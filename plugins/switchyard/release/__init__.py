"""The release domain: what a blue/green release is, independent of Airflow.

Colours (``colours``), the model's ``release:`` section (``spec``), the traffic switch (``switch``),
the standby's workloads (``workloads``), the release lock (``lock``), release records
(``records``), what made a release stop (``evidence``), the drift checks (``drift``) and the
conventions of the systems it releases (``conventions``: PromQL, AWS resource tags).

May import: ``switchyard.engine``, the kubernetes client, and itself. Never Airflow, never the
probes or the local environment (``tests/test_layers.py`` enforces this).
"""

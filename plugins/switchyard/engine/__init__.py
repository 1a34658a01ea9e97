"""The diagnosis engine: pure Python, a library the release domain, the probes and the CLI use.

Files → model → facts → states → paths → conclusion: reading and validating models (``model``,
``catalog``, ``expr``, ``yamlnodes``), facts (``facts``), reasoning (``reasoning``, ``verdict``),
diagnosis with probes (``diagnose``), scenarios and their simulation (``scenarios``, ``simulate``),
failure chains (``chains``), the model graph (``graph``) and text reports (``report``).

May import: the standard library, PyYAML, and ``switchyard.engine`` itself. Never Airflow, never the
kubernetes client or boto3 (``tests/test_layers.py`` enforces this).
"""

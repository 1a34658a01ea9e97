"""The diagnosis engine: reads and validates system models, reasons from facts to a verdict (which
component is the root cause, along which chain) and diagnoses a live system by asking a probe for
the facts it lacks; a pure library the release domain, the probes, the Airflow adapters and the
CLI call.

Modules: reading and validating models (``model``, ``yamlnodes``, ``expr``, ``catalog`` with the
type data under ``catalog/``, ``errors``), facts (``facts``), reasoning (``reasoning``,
``verdict``), diagnosis with probes (``diagnose``), scenarios and their simulation
(``scenarios``, ``simulate``), failure chains (``chains``), the model graph (``graph``) and text
reports (``report``).

May import: the standard library, PyYAML, and ``switchyard.engine`` itself. Never Airflow, never the
kubernetes client or boto3 (``tests/test_layers.py`` enforces this).
"""

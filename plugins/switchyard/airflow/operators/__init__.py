"""Airflow operators of the release and drift-check DAGs: thin, each asks a module, decides, returns."""

"""The Releases view: a FastAPI app the Airflow api-server mounts at ``/switchyard`` through the
plugin in ``plugins/switchyard_plugin.py``.

* ``releases.py`` — what the page shows for one app, read from the cluster (release records, live
  colour and version) and the model (the graph with the last failing chain);
* ``page.py`` — the HTML;
* ``artifacts.py`` — run artefacts served from ``$SWITCHYARD_ARTIFACTS_DIR``, never outside it;
* ``app.py`` — the routes, behind Airflow's own authentication and DAG-run read permission.
"""

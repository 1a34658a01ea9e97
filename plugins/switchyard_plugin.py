"""Switchyard's Airflow plugin: the Releases view and the run artefacts, served by the api-server.

Airflow imports this module (``plugins/.airflowignore`` keeps it from importing the ``switchyard``
package module by module). It adds:

* a FastAPI app at ``/switchyard`` — ``/switchyard/releases`` (per app: live colour and version,
  release history with statuses and root causes, links to the DAG runs, the model graph with the
  last failing chain) and ``/switchyard/artifacts/...`` (what the release tasks saved, linked from
  their "Switchyard artefact" buttons);
* "Releases" in the UI's navigation, showing that page inside the Airflow UI.

Importing it is cheap (no provider, Kubernetes or model import until a page is asked for), as
every Airflow component imports plugins.
"""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

from switchyard.airflow.ui.app import create_app


class SwitchyardPlugin(AirflowPlugin):
    name = "switchyard"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [
        {"app": create_app(), "url_prefix": "/switchyard", "name": "Switchyard"}
    ]
    external_views: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "Releases",
            "href": "/switchyard/releases",
            "destination": "nav",
            "url_route": "switchyard-releases",
            "nav_top_level": True,
        }
    ]

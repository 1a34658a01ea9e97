"""The Releases view in a real browser: headless Chromium (Debian's package) driven by Playwright
against ``airflow api-server`` on loopback, which serves the Switchyard plugin."""

from __future__ import annotations

import json
import re
import urllib.request
from urllib.parse import quote

from tests.ui.conftest import CHAIN_V3, DAG_ID, RECORDS


def test_releases_page_shows_live_state_history_links_and_failing_chain(api_server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1500, "height": 1000})
    response = page.goto(f"{api_server}/switchyard/releases")
    assert response.status == 200
    app = page.locator("section[data-app=acme-shop]")
    assert app.locator(".live-colour").inner_text() == "blue"  # the Service's selector
    assert app.locator(".live-version").inner_text() == "v1"  # the image of the live nginx
    assert app.locator(".active-release").inner_text() == "#2 v1 on blue"

    rows = app.locator("table.releases tbody tr")
    table = [
        [cell.strip() for cell in row]
        for row in rows.evaluate_all("rows => rows.map(r => [...r.cells].map(c => c.innerText))")
    ]
    assert [r[:4] for r in table] == [  # newest first
        ["#4", "v3", "green", "Failed"],
        ["#3", "v2", "green", "RolledBack"],
        ["#2", "v1", "blue", "Active"],
        ["#1", "v0", "green", "Superseded"],
    ]
    assert table[0][6].splitlines() == ["external-secrets", " → ".join(CHAIN_V3)]
    assert table[1][6].splitlines()[0] == "rds"
    assert table[2][6] == "—"

    # Each release links to its DAG run in the Airflow UI (in the top window: the page may be framed).
    links = rows.locator("td:nth-child(8) a")
    assert links.evaluate_all("as => as.map(a => a.getAttribute('href'))") == [
        f"/dags/{DAG_ID}/runs/{quote(run_id, safe='')}" for run_id, *_ in reversed(RECORDS)
    ]
    assert set(links.evaluate_all("as => as.map(a => a.target)")) == {"_top"}
    assert rows.nth(0).locator("td:nth-child(9) a").inner_text() == "files"  # the failed run's artefacts

    # The model graph: the last failing release's chain (v3, root external-secrets) in red.
    graph = app.locator("figure.graph svg")
    assert "release #4" in app.locator("figure.graph figcaption").inner_text()
    assert graph.locator("line[stroke='#c62828']").count() == len(CHAIN_V3) - 1
    red_boxes = graph.locator("rect[stroke='#c62828']").evaluate_all(
        "rs => rs.map(r => r.parentElement.querySelector('text').textContent)"
    )
    assert set(red_boxes) >= set(CHAIN_V3)
    assert "root cause" in graph.locator("g", has_text="external-secrets").first.text_content()
    assert graph.bounding_box()["width"] > 600  # drawn, not collapsed

    shot = tmp_path / "releases.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 20_000
    print(f"screenshot: {shot}")


def test_releases_view_in_the_airflow_ui_navigation(api_server, browser, tmp_path):
    """The plugin's external view: "Releases" in the UI's navigation, the page framed inside it."""
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{api_server}/plugin/switchyard-releases")
    nav = page.get_by_role("link", name=re.compile("Releases"))
    nav.first.wait_for(timeout=20_000)
    frame = page.frame_locator("iframe")
    assert frame.locator("section[data-app=acme-shop] .live-colour").inner_text(timeout=20_000) == "blue"
    page.screenshot(path=str(tmp_path / "airflow-ui-releases.png"))
    print(f"screenshot: {tmp_path / 'airflow-ui-releases.png'}")


def test_plugin_is_registered_with_its_app_and_view(api_server):
    with urllib.request.urlopen(f"{api_server}/api/v2/plugins", timeout=10) as answer:
        plugins = json.load(answer)["plugins"]
    [plugin] = [p for p in plugins if p["name"] == "switchyard"]
    assert [(a["name"], a["url_prefix"]) for a in plugin["fastapi_apps"]] == [("Switchyard", "/switchyard")]
    [view] = plugin["external_views"]
    assert view["href"] == "/switchyard/releases" and view["url_route"] == "switchyard-releases"

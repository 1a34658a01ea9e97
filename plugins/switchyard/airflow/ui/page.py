"""The Releases page as HTML: one section per app, no JavaScript, every value escaped.

The page may be shown inside the Airflow UI (an iframe, through the plugin's external view), so its
links to DAG runs open in the top window. A release that waits in its canary, watch or bake gets
"Roll back now" / "Promote now": a plain form posting to this host only (``form-action 'self'``),
carrying the token ``forms.py`` issued to the user for that run.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from urllib.parse import quote

from switchyard.airflow.ui.releases import AppReleases
from switchyard.engine.notation import chain_text, root_text
from switchyard.release.canary import canary_line
from switchyard.release.loadtest import figures_line
from switchyard.release.records import ReleaseRecord, intervention_line

STATUS_CLASS = {
    "Active": "active",
    "Superseded": "superseded",
    "InProgress": "progress",
    "Failed": "failed",
    "RolledBack": "rolledback",
}

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #1f2328; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px; }
.sub { color: #57606a; margin: 0 0 16px; }
.live { display: flex; gap: 24px; margin: 8px 0 12px; }
.live div { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: 8px 12px; }
.live b { display: block; font-size: 16px; }
.colour-blue { color: #0969da; } .colour-green { color: #1a7f37; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid #d0d7de; vertical-align: top; }
th { background: #f6f8fa; }
.status { border-radius: 10px; padding: 1px 8px; font-size: 12px; font-weight: 600; }
.active { background: #dafbe1; color: #116329; } .superseded { background: #eaeef2; color: #57606a; }
.progress { background: #ddf4ff; color: #0550ae; } .failed { background: #ffebe9; color: #a40e26; }
.rolledback { background: #fff1e5; color: #953800; }
.chain { color: #57606a; font-size: 12px; }
.problem { background: #fff8c5; border: 1px solid #d4a72c; border-radius: 6px; padding: 8px 12px; margin: 8px 0; }
figure { margin: 12px 0; overflow-x: auto; } figure svg { max-width: 100%; height: auto; }
figcaption { color: #57606a; font-size: 13px; margin-bottom: 6px; }
.intervene td { background: #f6f8fa; } .intervene form { display: flex; gap: 8px; align-items: center; }
.intervene input[type=text] { flex: 1; max-width: 420px; padding: 4px 6px; }
.intervene button { padding: 4px 10px; border-radius: 6px; border: 1px solid #d0d7de; cursor: pointer; }
.intervene button.abort { background: #ffebe9; color: #a40e26; } .intervene button.promote { background: #dafbe1; color: #116329; }
.notice { background: #ddf4ff; border: 1px solid #54aeff; border-radius: 6px; padding: 8px 12px; margin: 8px 0; }
.validation td { font-size: 12px; color: #57606a; border-bottom: 1px solid #d0d7de; }
.validation b { color: #1f2328; }
"""


# The page is ours, its values are not (records live in a ConfigMap): no script at all, styles
# inline, images inline, framed only by Airflow's UI on the same origin; forms post here only.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


@dataclass
class Offer:
    """A run waiting in ``step`` (canary, watch, bake); ``token`` when this user may step in."""

    step: str
    token: str = ""


def form_action(base_path: str, dag_id: str, run_id: str) -> str:
    return f"{base_path}/switchyard/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}/intervention/form"


def _intervene_row(record: ReleaseRecord, dag_id: str, offer: Offer, base_path: str) -> str:
    waits = f"waiting in its {escape(offer.step)}"
    if record.intervention:
        what = f"{waits}; {escape(intervention_line(record.intervention))} — acted on at the next sample"
    elif not offer.token:
        what = f"{waits} (stepping in needs edit permission on the DAG's runs)"
    else:
        what = (
            f'<form method="post" action="{escape(form_action(base_path, dag_id, record.run_id))}">'
            f"<span>{waits}:</span>"
            f'<input type="hidden" name="token" value="{escape(offer.token)}">'
            '<input type="text" name="reason" maxlength="500" placeholder="reason (goes into the record)" '
            'aria-label="reason">'
            '<button class="abort" type="submit" name="action" value="abort">Roll back now</button>'
            '<button class="promote" type="submit" name="action" value="promote">Promote now</button>'
            "</form>"
        )
    return f'<tr class="intervene" data-run="{escape(record.run_id)}"><td colspan="9">{what}</td></tr>'


def _validation_row(record: ReleaseRecord) -> str:
    """The load test's and the canary's figures beside their thresholds, from the record."""
    try:
        return _validation_figures(record)
    except (TypeError, ValueError, AttributeError, KeyError) as exc:  # records anyone may edit
        return (
            f'<tr class="validation" data-run="{escape(record.run_id)}"><td colspan="9">load test / canary '
            f"figures unreadable in the record: {escape(type(exc).__name__)}</td></tr>"
        )


def _validation_figures(record: ReleaseRecord) -> str:
    parts = []
    checkpoints = record.checkpoints or {}
    load = ((checkpoints.get("load_test") or {}).get("results") or [None])[-1]
    if isinstance(load, dict):
        verdict = "passed" if load.get("passed") else "FAILED"
        parts.append(
            f'<div class="load-test"><b>Load test {verdict}</b>: '
            f"{escape(figures_line(load.get('figures') or {}, load.get('thresholds') or {}))}</div>"
        )
    checks = [c for c in (checkpoints.get("canary") or {}).get("results") or [] if isinstance(c, dict)]
    if checks:
        verdict = "passed" if all(c.get("passed") for c in checks) else "FAILED"
        parts.append(f'<div class="canary"><b>Canary {verdict}</b>: {escape(canary_line(checks))}</div>')
    if not parts:
        return ""
    return f'<tr class="validation" data-run="{escape(record.run_id)}"><td colspan="9">{"".join(parts)}</td></tr>'


def run_href(base_path: str, dag_id: str, run_id: str) -> str:
    """The Airflow UI page of a DAG run."""
    return f"{base_path}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"


def _status(status: str) -> str:
    return f'<span class="status {STATUS_CLASS.get(status, "")}">{escape(status)}</span>'


def _row(record: ReleaseRecord, view: AppReleases, base_path: str, artifacts: dict[str, str]) -> str:
    dag_id = record.dag_id or view.dag_id
    cause = escape(root_text(record.root_cause, record.root_state)) if record.root_cause else "—"
    if record.failed_step:
        cause = f'<div class="step">failed at {escape(record.failed_step)}</div>{cause}'
    if record.chain:
        cause += f'<div class="chain">{escape(chain_text(record.chain, record.root_state))}</div>'
    started = escape(record.started_at.replace("T", " ").removesuffix("Z")) if record.started_at else "—"
    finished = escape(record.finished_at.replace("T", " ").removesuffix("Z")) if record.finished_at else "—"
    run = (
        f'<a href="{escape(run_href(base_path, dag_id, record.run_id))}" target="_top">{escape(record.run_id)}</a>'
        if record.run_id
        else "—"
    )
    files = artifacts.get(record.run_id)
    files_link = f'<a href="{escape(files)}">files</a>' if files else ""
    return (
        f'<tr data-number="{escape(str(record.number))}"><td>#{escape(str(record.number))}</td>'
        f"<td>{escape(record.version)}</td>"
        f'<td class="colour-{escape(record.colour)}">{escape(record.colour)}</td><td>{_status(record.status)}</td>'
        f"<td>{started}</td><td>{finished}</td><td>{cause}</td><td>{run}</td><td>{files_link}</td></tr>"
    )


def app_section(
    view: AppReleases,
    base_path: str,
    artifacts: dict[str, str],
    offers: dict[tuple[str, str], Offer] | None = None,
    requested: tuple[str, str] = ("", ""),
) -> str:
    parts = [
        f'<section id="app-{escape(view.app)}" data-app="{escape(view.app)}">',
        f"<h2>{escape(view.app)}</h2>",
    ]
    colour = view.live_colour or "none"
    active = view.active
    parts.append(
        '<div class="live">'
        f'<div>Live colour<b class="live-colour colour-{escape(colour)}">{escape(colour)}</b></div>'
        f'<div>Live version<b class="live-version">{escape(view.live_version or "—")}</b></div>'
        f'<div>Active release<b class="active-release">'
        f"{escape(f'#{active.number} {active.version} on {active.colour}') if active else '—'}</b></div>"
        f"<div>Service<b>{escape(f'{view.namespace}/{view.service}' if view.service else '—')}</b></div>"
        "</div>"
    )
    if active and view.live_colour and active.colour != view.live_colour:
        parts.append(
            f'<div class="problem">The active record says {escape(active.colour)}, the cluster serves '
            f"{escape(view.live_colour)}: traffic was moved outside a release, or a release is still running.</div>"
        )
    for problem in view.problems:
        parts.append(f'<div class="problem">Could not read {escape(problem)}</div>')
    for record in view.records:  # the confirmation after a button: read back from the record itself
        if (record.dag_id or view.dag_id, record.run_id) == requested and record.intervention:
            request = record.intervention
            parts.append(
                f'<div class="notice">{escape(request.get("action", "?"))} requested by '
                f"{escape(request.get('user', '?'))} for release #{escape(str(record.number))} "
                f"{escape(record.version)} ({escape(request.get('reason') or 'no reason given')}): the waiting "
                "step acts on it at its next sample.</div>"
            )
    if view.records:
        parts.append(
            '<table class="releases"><thead><tr><th>#</th><th>Version</th><th>Colour</th><th>Status</th>'
            "<th>Started (UTC)</th><th>Finished (UTC)</th><th>Root cause</th><th>DAG run</th><th>Artefacts</th>"
            "</tr></thead><tbody>"
        )
        for record in view.records:
            parts.append(_row(record, view, base_path, artifacts))
            parts.append(_validation_row(record))
            dag_id = record.dag_id or view.dag_id
            offer = (offers or {}).get((dag_id, record.run_id))
            if offer and record.status in ("InProgress", "Active"):
                parts.append(_intervene_row(record, dag_id, offer, base_path))
        parts.append("</tbody></table>")
    elif not view.problems:
        parts.append('<p class="sub">No release on record yet.</p>')
    if view.graph_svg:
        failure = view.last_failure
        caption = (
            f"Model graph — the chain of release #{escape(str(failure.number))} ({escape(failure.status)}) in red, "
            f"root cause {escape(root_text(failure.root_cause, failure.root_state) if failure.root_cause else 'unknown')}"
            if failure
            else "Model graph — no failed release on record"
        )
        # graph.svg escapes every name it draws: the markup is ours, the text is escaped.
        parts.append(f'<figure class="graph"><figcaption>{caption}</figcaption>{view.graph_svg}</figure>')
    parts.append("</section>")
    return "\n".join(parts)


def releases_page(
    views: list[AppReleases],
    base_path: str,
    artifacts: dict[str, dict[str, str]],
    offers: dict[tuple[str, str], Offer] | None = None,
    requested: tuple[str, str] = ("", ""),
) -> str:
    sections = "\n".join(
        app_section(v, base_path, artifacts.get(v.app, {}), offers, requested) for v in views
    ) or ('<p class="sub">No models in include/models/: nothing is released by Switchyard here.</p>')
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Switchyard releases</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{STYLE}</style></head>'
        "<body><h1>Switchyard releases</h1>"
        '<p class="sub">Per app: what serves now, the last 10 releases from the cluster\'s records, and where '
        "the last failed release broke.</p>"
        f"{sections}</body></html>"
    )


def message_page(title: str, message: str, base_path: str) -> str:
    """A refusal or an error of the buttons, with the way back."""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<style>{STYLE}</style></head><body><h1>{escape(title)}</h1><div class="problem">{escape(message)}</div>'
        f'<p><a href="{escape(base_path)}/switchyard/releases">Back to the Releases view</a></p></body></html>'
    )


def listing_page(relative: str, entries: list[tuple[str, bool]]) -> str:
    items = "".join(
        f'<li><a href="{escape(quote(name))}{"/" if is_dir else ""}">{escape(name)}{"/" if is_dir else ""}</a></li>'
        for name, is_dir in entries
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Artefacts</title>'
        f"<style>{STYLE}</style></head><body><h1>Artefacts: {escape(relative or '/')}</h1>"
        f"<ul>{items or '<li>(empty)</li>'}</ul></body></html>"
    )

"""Release notifications: one line with app, version, outcome, root cause and run link.

With a Slack connection (``slack_default``, a Slack API token connection, or ``slack_webhook_default``
for an incoming webhook) the Slack provider's notifier sends it; without one the line goes to the
log, where the run's audit trail keeps it.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def run_link(dag_id: str, run_id: str) -> str:
    from urllib.parse import quote

    from airflow.sdk import conf

    base = (conf.get("api", "base_url", fallback="") or "http://localhost:8080").rstrip("/")
    return f"{base}/dags/{quote(dag_id)}/runs/{quote(run_id, safe='')}"


def notification_line(app: str, version: str, outcome: str, root_cause: str, link: str) -> str:
    cause = f" — root cause: {root_cause}" if root_cause else ""
    return f"[switchyard] {app} {version}: {outcome}{cause} · {link}"


def _connection_exists(conn_id: str) -> bool:
    from airflow.sdk import BaseHook

    try:
        BaseHook.get_connection(conn_id)
    except Exception:  # any lookup failure means "not configured"
        return False
    return True


def notify(line: str, context: dict[str, Any] | None = None, channel: str = "#releases") -> str:
    """Send ``line`` to Slack when a connection is configured; always log it. Returns where it went."""
    log.info("NOTIFY: %s", line)
    try:
        if _connection_exists("slack_webhook_default"):
            from airflow.providers.slack.notifications.slack_webhook import SlackWebhookNotifier

            SlackWebhookNotifier(slack_webhook_conn_id="slack_webhook_default", text=line).notify(
                context or {}
            )
            return "slack webhook"
        if _connection_exists("slack_default"):
            from airflow.providers.slack.notifications.slack import SlackNotifier

            SlackNotifier(slack_conn_id="slack_default", channel=channel, text=line).notify(context or {})
            return "slack"
    except Exception as exc:  # a notification must never change a release's outcome
        log.warning("could not send the notification to Slack: %s", exc)
        return "log (slack failed)"
    return "log"

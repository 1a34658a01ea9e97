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


SECRET_EXTRA = ("token", "secret", "password", "key", "webhook")


def connection_secrets(password: str | None, extra: dict[str, Any] | None = None) -> set[str]:
    """Every form a connection's secret can take in a log line. Airflow masks the password as a
    whole; a Slack client that logs the request path (its retry message) shows only part of a
    webhook URL, so the path and its token segment are masked as well."""
    from urllib.parse import urlsplit

    found: set[str] = set()
    value = (password or "").strip()
    if value:
        found.add(value)
        path = urlsplit(value).path if "://" in value else value
        found |= {path, path.strip("/")}
        segments = [part for part in path.split("/") if part]
        if segments:
            found.add(segments[-1])  # the secret part of T000/B000/<token>
            if len(segments) >= 3:
                found.add("/".join(segments[-3:]))
    for key, item in (extra or {}).items():
        if isinstance(item, str) and any(word in key.lower() for word in SECRET_EXTRA):
            found |= connection_secrets(item)
    return {f for f in found if len(f) >= 8}  # short fragments would mask ordinary words


def _connection_exists(conn_id: str) -> bool:
    from airflow.sdk import BaseHook
    from airflow.sdk.log import mask_secret

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception:  # any lookup failure means "not configured"
        return False
    try:
        extra = conn.extra_dejson
    except Exception:  # an unreadable extra is the provider's error to report, not ours
        extra = {}
    for secret in connection_secrets(conn.password, extra):
        mask_secret(secret)
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

"""The Releases view's "Roll back now" / "Promote now" forms, safe against cross-site requests
without a script on the page.

The page is authenticated by Airflow's ``_token`` cookie, which a browser also sends with a form
another site posts to us. Two checks refuse such a POST before anything is recorded:

* a synchronizer token in a hidden field: ``<issued-at>.<HMAC-SHA256>`` over the user, the DAG, the
  run and the issue time, keyed from Airflow's own secret (``[api_auth] jwt_secret``, which every
  api-server worker and replica must share for logins to work, else ``[api] secret_key``, whose
  default is made up per process), valid for ``TOKEN_SECONDS``. Another site can neither read it from our page nor compute it;
* the request's ``Origin`` (or, without one, its ``Referer``) must be this host: the Host the
  request came to, or the host of ``[api] base_url``.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlsplit

TOKEN_SECONDS = 15 * 60  # long enough to read the page and decide, short enough to be useless later
_DOMAIN = b"switchyard releases view: intervention form v1"


def form_key() -> bytes:
    """The HMAC key of the form tokens, derived from Airflow's secret (never the secret itself)."""
    from airflow.configuration import conf

    secret = conf.get("api_auth", "jwt_secret", fallback="") or conf.get("api", "secret_key", fallback="")
    if not secret:
        # Neither is configured: the api app generates its own for this process; so do we.
        from airflow.api_fastapi.auth.tokens import get_signing_key

        secret = get_signing_key("api", "secret_key")
    return key_from_secret(secret)


def key_from_secret(secret: str) -> bytes:
    return hmac.new(secret.encode(), _DOMAIN, hashlib.sha256).digest()


def _mac(key: bytes, user: str, dag_id: str, run_id: str, issued_at: int) -> str:
    # NUL separators: no field can shift its bytes into the next one.
    message = "\0".join((user, dag_id, run_id, str(issued_at))).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def issue_token(key: bytes, user: str, dag_id: str, run_id: str, now: float | None = None) -> str:
    """The hidden field of one run's form, for one user."""
    issued_at = int(time.time() if now is None else now)
    return f"{issued_at}.{_mac(key, user, dag_id, run_id, issued_at)}"


def token_problem(
    key: bytes, token: str, user: str, dag_id: str, run_id: str, now: float | None = None
) -> str:
    """Why ``token`` does not authorise this user's POST on this run ('' when it does)."""
    issued, _, mac = (token or "").partition(".")
    if not issued.isdigit() or not mac:
        return "the form carries no valid token: reload the Releases view and try again"
    age = (time.time() if now is None else now) - int(issued)
    if not hmac.compare_digest(mac, _mac(key, user, dag_id, run_id, int(issued))):
        return "the form's token was not issued to you for this run: reload the Releases view"
    if age > TOKEN_SECONDS or age < -60:
        return f"the form expired (older than {TOKEN_SECONDS // 60} minutes): reload the Releases view"
    return ""


def origin_problem(origin: str | None, referer: str | None, host: str, base_url: str = "") -> str:
    """Why a POST did not come from one of our own pages ('' when it did). Browsers send
    ``Origin`` with every form POST; ``Referer`` stands in when a proxy dropped it. Neither: refused."""
    allowed = {host.lower()} | ({urlsplit(base_url).netloc.lower()} if base_url else set())
    allowed.discard("")
    if origin == "null":  # a sandboxed or privacy-stripped context: not one of our pages
        return "the request's Origin is null: only a form of the Releases view may post here"
    sent = origin or referer
    if not sent:
        return "the request names no Origin or Referer: only a form of the Releases view may post here"
    parts = urlsplit(sent)
    if parts.scheme not in ("http", "https") or parts.netloc.lower() not in allowed:
        return f"the request comes from {sent[:100]!r}, not from this host: refused"
    return ""

"""Kubernetes API errors, carried as exceptions and answered as ``Status`` bodies."""

from __future__ import annotations

import json
from typing import Any


class ApiError(Exception):
    """An error the emulated API server answers with a ``meta/v1 Status`` of the given code."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body

    # Constructors named after the Kubernetes reasons, with the API server's own wording.
    @classmethod
    def not_found(cls, group: str, plural: str, name: str) -> ApiError:
        resource = f"{plural}.{group}" if group else plural
        return cls(
            404, "NotFound", f'{resource} "{name}" not found', {"name": name, "group": group, "kind": plural}
        )

    @classmethod
    def already_exists(cls, group: str, plural: str, name: str) -> ApiError:
        resource = f"{plural}.{group}" if group else plural
        return cls(
            409,
            "AlreadyExists",
            f'{resource} "{name}" already exists',
            {"name": name, "group": group, "kind": plural},
        )

    @classmethod
    def conflict(cls, group: str, plural: str, name: str) -> ApiError:
        resource = f"{plural}.{group}" if group else plural
        return cls(
            409,
            "Conflict",
            f'Operation cannot be fulfilled on {resource} "{name}": the object has been modified; '
            "please apply your changes to the latest version and try again",
            {"name": name, "group": group, "kind": plural},
        )

    @classmethod
    def invalid(cls, kind: str, group: str, name: str, causes: list[tuple[str, Any, str]]) -> ApiError:
        """``causes`` are ``(field, value, why)``; the message joins them as the API server does."""
        qualified = f"{kind}.{group}" if group else kind
        text = "; ".join(f"{field}: Invalid value: {_shown(value)}: {why}" for field, value, why in causes)
        return cls(
            422,
            "Invalid",
            f'{qualified} "{name}" is invalid: {text}',
            {
                "name": name,
                "group": group,
                "kind": kind,
                "causes": [
                    {
                        "reason": "FieldValueInvalid",
                        "message": f"Invalid value: {_shown(value)}: {why}",
                        "field": field,
                    }
                    for field, value, why in causes
                ],
            },
        )

    @classmethod
    def bad_request(cls, message: str) -> ApiError:
        return cls(400, "BadRequest", message)

    @classmethod
    def method_not_allowed(cls) -> ApiError:
        return cls(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    @classmethod
    def unsupported_media_type(
        cls,
        content_type: str,
        accepted: tuple[str, ...] = (
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/apply-patch+yaml",
            "application/strategic-merge-patch+json",
        ),
    ) -> ApiError:
        return cls(
            415,
            "UnsupportedMediaType",
            f"the body of the request was in an unknown format - "
            f"accepted media types include: {', '.join(accepted)} (got {content_type})",
        )

    @classmethod
    def forbidden(
        cls, verb: str, plural: str, group: str, namespace: str | None, name: str | None
    ) -> ApiError:
        resource = f"{plural}.{group}" if group else plural
        subject = f'{resource} "{name}"' if name else resource
        scope = f' in the namespace "{namespace}"' if namespace else " at the cluster scope"
        return cls(
            403,
            "Forbidden",
            f'{subject} is forbidden: User "switchyard" cannot {verb} resource "{plural}" '
            f'in API group "{group}"{scope}',
            {"name": name or "", "group": group, "kind": plural},
        )

    @classmethod
    def internal(cls, message: str) -> ApiError:
        return cls(500, "InternalError", f"Internal error occurred: {message}")

    @classmethod
    def service_unavailable(cls, message: str) -> ApiError:
        return cls(503, "ServiceUnavailable", message)


def _shown(value: Any) -> str:
    """A string quoted as Go's %q (as the API server prints it); a structure as compact JSON."""
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))

"""Small manifest builders for the tests."""

from __future__ import annotations


def deployment(name: str, image: str, replicas: int = 2, labels: dict | None = None) -> dict:
    labels = labels or {"app": name}
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "containers": [
                        {"name": "app", "image": image, "ports": [{"name": "http", "containerPort": 8080}]}
                    ]
                },
            },
        },
    }

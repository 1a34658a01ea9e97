"""How a failure chain and a root cause are written, everywhere: the CLI, the gates' logs, messages
and XCom, the demo, the incident report, the release records' notifications, the Releases view and
the enumerated chain table all render through these functions.

The notation:

* a root cause is ``component (state)`` — ``rds (stopped)``; a component whose state is not known
  is its bare name;
* a chain is written from where the failure is felt down to what caused it, each arrow read as
  "depends on", the way the model's ``depends:`` and its graph point (and a dependency cycle is
  reported): ``cloudflare → acme-shop-ingress → acme-shop-svc → acme-shop-php-fpm-blue → rds (stopped)``.
  Every step is a component, with its state in parentheses where the chain knows it: a verdict's
  chain knows its root's (the chain ends in the root cause, written as above), an enumerated chain
  knows every step's (``acme-shop-php-fpm-blue (crashed) → rds (stopped)``).

Why this way round: the first thing a release engineer sees of a chain is what users see (the
entry point), and the line ends on the answer, in the same words as the "Root cause:" line above it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

ARROW = " → "


def root_text(component: str, state: str = "") -> str:
    """``rds (stopped)``: a root cause (or any step whose state is known)."""
    return f"{component} ({state})" if state else component


def steps_text(steps: Iterable[tuple[str, str]]) -> str:
    """``a (s1) → b → c (s3)``: (component, state) steps, the dependent first; "" for no step."""
    return ARROW.join(root_text(component, state) for component, state in steps)


def chain_text(path: Sequence[str], root_state: str = "") -> str:
    """A verdict's chain: component names from the entry to the root, the root with its state —
    ``cloudflare → acme-shop-ingress → rds (stopped)``; ``-`` for no chain."""
    if not path:
        return "-"
    return steps_text([(name, "") for name in path[:-1]] + [(path[-1], root_state)])

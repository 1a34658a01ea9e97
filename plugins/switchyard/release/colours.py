"""Blue/green colour logic, in one place: which components belong to which colour, which colour
is live, and the component sets gates vouch for.

The model names per-colour components with a ``-blue`` / ``-green`` suffix (``acme-shop-nginx-blue``);
the colour-selecting Service is the component that depends on both colours of a tier. Nothing
here talks to a cluster: the live colour comes from the Service selector a probe read.
"""

from __future__ import annotations

from dataclasses import dataclass

from switchyard.engine.model import Model

COLOURS = ("blue", "green")


def other(colour: str) -> str:
    if colour not in COLOURS:
        raise ValueError(f"colour {colour!r} is not one of {', '.join(COLOURS)}")
    return "green" if colour == "blue" else "blue"


def colour_of(name: str) -> str | None:
    """``acme-shop-nginx-blue`` → ``blue``; colour-agnostic components → None."""
    for colour in COLOURS:
        if name.endswith(f"-{colour}"):
            return colour
    return None


def base_name(name: str) -> str:
    """``acme-shop-nginx-blue`` → ``acme-shop-nginx``."""
    colour = colour_of(name)
    return name[: -len(colour) - 1] if colour else name


@dataclass(frozen=True)
class ColourLayout:
    """The blue/green shape of a model."""

    model: Model
    service: str  # the colour-selecting Service component
    tiers: dict[str, dict[str, str]]  # base name → colour → component name (deployments only)
    workers: frozenset[str]  # per-colour deployments that take no traffic through the Service
    default_namespace: str = "default"  # for components whose vars name none (release.namespace)
    colour_label: str = "color"  # the label whose value is the colour (release.labels.colour)

    def components(self, colour: str) -> list[str]:
        """The per-colour deployments of a colour, in declaration order."""
        names = {tier[colour] for tier in self.tiers.values() if colour in tier}
        return [n for n in self.model.components if n in names]

    def serving(self, colour: str) -> list[str]:
        """Per-colour deployments reached through the Service (not queue workers)."""
        return [n for n in self.components(colour) if n not in self.workers]

    def namespace(self, component: str) -> str:
        return self.model.components[component].vars.get("namespace") or self.default_namespace

    def live_path(self, live: str) -> Model:
        """The model as traffic sees it while ``live`` is selected: the other colour removed."""
        return self.model.without(self.components(other(live)))

    def live_scope(self, live: str) -> list[str]:
        """What a live-path gate vouches for: the Service and everything it reaches on ``live``,
        components off the entry's paths (workers, cron) included when they are colour-agnostic or
        of the live colour."""
        standby = set(self.components(other(live)))
        return [
            n
            for n, c in self.model.components.items()
            if n not in standby and c.type_def is not None and c.type_def.provider != "generic"
        ]


def layout(model: Model, default_namespace: str = "default", colour_label: str = "color") -> ColourLayout:
    """Find the colour-selecting Service and the per-colour tiers; a clear error when absent.
    ``default_namespace``: where components whose vars name no namespace run; ``colour_label``:
    the label whose value is blue or green (both from the ``release:`` section, through the spec)."""
    tiers: dict[str, dict[str, str]] = {}
    for name, comp in model.components.items():
        colour = colour_of(name)
        if colour and comp.type == "deployment":
            tiers.setdefault(base_name(name), {})[colour] = name
    incomplete = {b: t for b, t in tiers.items() if set(t) != set(COLOURS)}
    if incomplete:
        listed = ", ".join(f"{b} has only {', '.join(t)}" for b, t in incomplete.items())
        raise ValueError(f"model {model.name}: every per-colour deployment needs both colours ({listed})")
    if not tiers:
        raise ValueError(
            f"model {model.name}: no per-colour deployments — name them <name>-blue and <name>-green"
        )
    services = [
        n
        for n, c in model.components.items()
        if c.type == "service"
        and any(colour_of(t) == "blue" for t in c.depends_on)
        and any(colour_of(t) == "green" for t in c.depends_on)
    ]
    if len(services) != 1:
        found = ", ".join(services) or "none"
        raise ValueError(
            f"model {model.name}: expected one Service depending on both colours (found {found})"
        )
    service = services[0]
    reached: set[str] = set()
    stack = [service]
    while stack:
        current = stack.pop()
        for target in model.components[current].depends_on:
            if target not in reached:
                reached.add(target)
                stack.append(target)
    per_colour = {n for tier in tiers.values() for n in tier.values()}
    return ColourLayout(
        model, service, tiers, frozenset(per_colour - reached), default_namespace, colour_label
    )

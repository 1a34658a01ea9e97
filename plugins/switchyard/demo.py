"""The README's demo: ``make demo``.

For now it shows the engine on the acme-shop model: validate the model, simulate every scenario,
and diagnose the seed's 3am incident (external-secrets down) with probes answered from the
scenario. Later the demo runs a whole release against the local environment.
"""

from __future__ import annotations

import sys
from pathlib import Path

from switchyard.cli import main as cli

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "include" / "models" / "acme-shop.model.yaml"
SCENARIOS = ROOT / "include" / "scenarios" / "acme-shop"


def _section(title: str) -> None:
    print(f"\n━━ {title} " + "━" * max(0, 76 - len(title)), flush=True)


def main() -> int:
    model = str(MODEL.relative_to(ROOT))
    _section(f"python -m switchyard model validate --model {model}")
    results = [cli(["model", "validate", "--model", str(MODEL)])]
    _section(f"python -m switchyard simulate --model {model} --all {SCENARIOS.relative_to(ROOT)}")
    results.append(cli(["simulate", "--model", str(MODEL), "--all", str(SCENARIOS)]))
    incident = SCENARIOS / "05-external-secrets-down.yaml"
    _section("3am: diagnose --suspect acme-shop-php-fpm-blue (probes answered by the ESO-down scenario)")
    cli(
        [
            "diagnose",
            "--model",
            str(MODEL),
            "--facts",
            str(incident),
            "--suspect",
            "acme-shop-php-fpm-blue",
            "--max-probes",
            "10",
        ]
    )  # exits 1 by design: a root cause is found
    ok = all(code == 0 for code in results)
    _section("demo " + ("passed" if ok else "FAILED"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Command line: ``python -m switchyard``. Parses arguments and prints; the engine decides.

Exit codes: 0 pass, 1 a reasoning failure (validation errors, failed scenario, root cause or
unknown), 2 bad input (a one-line error, no traceback).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from switchyard import __version__
from switchyard.engine.catalog import load_catalog
from switchyard.engine.chains import drift, table_path, write_table
from switchyard.engine.diagnose import ScenarioProbe, diagnose
from switchyard.engine.errors import SwitchyardError, one_line
from switchyard.engine.model import load_model, read_model
from switchyard.engine.report import diagnosis_report, scenario_line, validation_report
from switchyard.engine.scenarios import load_scenario, scenario_files
from switchyard.engine.simulate import run_scenario

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2, as for every other bad input
        self.exit(EXIT_BAD_INPUT, f"error: {message} (see {self.prog} --help)\n")


def _duration(text: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)?", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90s, 5m or 1h")
    scale = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}[match.group(2)]
    return float(match.group(1)) * scale


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m switchyard", description="Switchyard model engine")
    parser.add_argument("--version", action="version", version=f"switchyard {__version__}")
    common = _Parser(add_help=False)
    common.add_argument(
        "--model",
        action="append",
        required=True,
        metavar="FILE",
        help="model file or directory (repeat for a model split over several files)",
    )
    common.add_argument(
        "--types",
        action="append",
        default=[],
        metavar="DIR",
        help="extra provider directories (repeatable; also $SWITCHYARD_TYPES, ':'-separated)",
    )
    common.add_argument("--json", action="store_true", help="print JSON instead of text")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    model_cmd = commands.add_parser("model", help="model commands")
    model_sub = model_cmd.add_subparsers(dest="model_command", required=True, parser_class=_Parser)
    model_sub.add_parser("validate", parents=[common], help="check a model and report every problem")
    disc = model_sub.add_parser("discover", help="draft a model from a live namespace (read-only)")
    disc.add_argument("--namespace", required=True, metavar="NS", help="the app's namespace")
    disc.add_argument("--kubeconfig", metavar="FILE", help="default: $KUBECONFIG, ~/.kube/config")
    disc.add_argument("--name", metavar="APP", help="model name (default: the pods' app label)")
    disc.add_argument("--out", metavar="FILE", help="write the draft here (default: stdout)")

    sim = commands.add_parser("simulate", parents=[common], help="run scenario files through the engine")
    which = sim.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", metavar="DIR", help="every *.yaml scenario in DIR")
    which.add_argument("--scenario", metavar="FILE", help="one scenario file")
    sim.add_argument(
        "--strict",
        action="store_true",
        help="path and eliminated must match exactly; a fact or component name the model does not know "
        "is an error, not a warning",
    )

    scen = commands.add_parser("scenarios", help="the enumerated failure-chain table")
    scen_sub = scen.add_subparsers(dest="scenarios_command", required=True, parser_class=_Parser)
    for name, text in (
        ("write", "enumerate every failure chain and write the table"),
        ("drift", "compare the committed table with a fresh enumeration"),
    ):
        p = scen_sub.add_parser(name, parents=[common], help=text)
        p.add_argument(
            "--out", metavar="FILE", help="table path (default: <model>.chains.yaml beside the model)"
        )

    diag = commands.add_parser("diagnose", parents=[common], help="probe facts until a root cause is named")
    source = diag.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--facts",
        metavar="FILE",
        help="a scenario-format file whose inject: answers the probes (the observable system)",
    )
    source.add_argument(
        "--live",
        action="store_true",
        help="read the facts from the live system through the Airflow connections "
        "(AIRFLOW_CONN_KUBERNETES_DEFAULT, AIRFLOW_CONN_AWS_DEFAULT)",
    )
    diag.add_argument(
        "--colour",
        choices=("live", "blue", "green", "both"),
        default=None,
        help="with --live: the colour to look at (default live: the one the model's switch selects; "
        "the standby colour is left out, as the gates do); both: the whole model",
    )
    diag.add_argument("--suspect", action="append", default=[], metavar="C", help="component to probe first")
    diag.add_argument("--scope", action="append", metavar="C", help="components a gate must vouch for")
    diag.add_argument(
        "--max-probes",
        type=_positive_int,
        default=60,
        metavar="N",
        help="probe budget (default 60: vouching for all of acme-shop takes about 30)",
    )
    diag.add_argument("--deadline", type=_duration, default=300.0, metavar="DURATION")
    diag.add_argument(
        "--strict",
        action="store_true",
        help="with --facts: a fact or component name the model does not know is an error, not a warning",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except (SwitchyardError, ValueError) as exc:
        print(f"error: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except BrokenPipeError:
        return EXIT_OK
    except OSError as exc:  # a path that cannot be read or written: name it, no traceback
        where = f"{exc.filename}: " if exc.filename else ""
        print(f"error: {one_line(where + (exc.strerror or str(exc)))}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except (RecursionError, MemoryError) as exc:  # a bound we missed: still one line, never a trace
        print(f"error: input too large or too deeply nested ({type(exc).__name__})", file=sys.stderr)
        return EXIT_BAD_INPUT


def _run(args: argparse.Namespace) -> int:
    if getattr(args, "model_command", None) == "discover":
        from switchyard.release.discover import discover_command

        return discover_command(args.namespace, args.kubeconfig, args.out, args.name)
    catalog = load_catalog(args.types)
    if args.command == "model":
        return _validate(args, catalog)
    model = load_model(args.model, catalog)
    if args.command == "simulate":
        return _simulate(args, model)
    if args.command == "scenarios":
        return _scenarios(args, model)
    return _diagnose(args, model)


def _validate(args, catalog) -> int:
    for path in args.model:
        if not Path(path).exists() and not Path(path).is_symlink():  # a symlink loop: say so later
            raise SwitchyardError(f"{path}: no such model file")
    model = read_model(args.model, catalog)
    from switchyard.release.schema import release_problems  # the release: section's JSON Schema

    model.problems.extend(release_problems(model))
    if args.json:
        print(
            json.dumps(
                {
                    "model": model.name,
                    "components": len(model.components),
                    "valid": not model.errors,
                    "problems": [
                        {
                            "severity": p.severity,
                            "component": p.component,
                            "message": p.message,
                            "location": str(p.location) if p.location else None,
                            "fix": p.fix,
                        }
                        for p in model.problems
                    ],
                },
                indent=2,
            )
        )
    else:
        print(validation_report(model))
    if model.errors:
        print("error: model has validation errors", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def _simulate(args, model) -> int:
    files = scenario_files(Path(args.all)) if args.all else [Path(args.scenario)]
    scenarios = [load_scenario(f, model) for f in files]
    for scenario in scenarios:
        _hygiene(scenario, args.strict)
    results = [run_scenario(model, s, strict=args.strict) for s in scenarios]
    passed = sum(r.passed for r in results)
    if args.json:
        print(
            json.dumps(
                {"passed": passed, "total": len(results), "scenarios": [r.as_dict() for r in results]},
                indent=2,
            )
        )
    else:
        for result in results:
            print(scenario_line(result))
        if args.all:
            print(f"\n  {passed}/{len(results)} scenarios passed")
    return EXIT_OK if passed == len(results) else EXIT_FAILED


def _hygiene(scenario, strict: bool) -> None:
    """Rule S9: names the model does not know become 'unknown' silently; warn, or refuse (--strict)."""
    if strict and scenario.warnings:
        more = f" (and {len(scenario.warnings) - 1} more)" if len(scenario.warnings) > 1 else ""
        raise SwitchyardError(f"{scenario.warnings[0]}{more} — --strict refuses unknown names")
    for warning in scenario.warnings:
        print(f"warning: {one_line(warning)}", file=sys.stderr)


def _scenarios(args, model) -> int:
    path = Path(args.out) if args.out else table_path(model)
    if args.scenarios_command == "write":
        count = write_table(model, path)
        print(f"wrote {count} chains to {path}")
        if model.scenarios_option.lower() == "none":
            print(f"note: {model.name} sets meta.scenarios: none — the drift check skips it", file=sys.stderr)
        return EXIT_OK
    if model.scenarios_option.lower() == "none" and not args.out:
        print("meta.scenarios: none — drift check skipped")
        return EXIT_OK
    if not path.exists():
        print(f"no chain table at {path} — drift check skipped")
        return EXIT_OK
    result = drift(model, path)
    if args.json:
        print(
            json.dumps(
                {
                    "table": str(path),
                    "drifted": result.drifted,
                    "stale_hash": result.stale_hash,
                    "added": result.added,
                    "removed": result.removed,
                },
                indent=2,
            )
        )
    else:
        for text in result.added:
            print(f"  + {text}")
        for text in result.removed:
            print(f"  - {text}")
        state = "drifted" if result.drifted else "up to date"
        print(f"{path}: {state} ({len(result.added)} added, {len(result.removed)} removed)")
        if result.stale_hash and not result.drifted:
            print(
                "note: the model or types changed without changing any chain; rewrite to refresh source_hash"
            )
    return EXIT_FAILED if result.drifted else EXIT_OK


def _diagnose(args, model) -> int:
    report = sys.stdout
    if args.colour and not args.live:
        raise SwitchyardError("--colour applies to --live only (a facts file says which colour it describes)")
    view, prefer, note, colour = model, [], "", None
    # Airflow's providers log to stdout; with --live stdout must stay the report (--json is parsed).
    with contextlib.redirect_stdout(sys.stderr) if args.live else contextlib.nullcontext():
        if args.live:
            from switchyard.probes import LiveProbe  # imports Airflow's providers: only when asked for
            from switchyard.probes.live import live_view

            chosen = live_view(model, args.colour or "live")
            view, prefer, note, colour = chosen.model, chosen.prefer, chosen.note, chosen.colour
            probe = LiveProbe(model)
            if not args.json:
                print(f"Colour:     {note}", file=report, flush=True)
        else:
            scenario = load_scenario(Path(args.facts), model)
            _hygiene(scenario, args.strict)
            probe = ScenarioProbe(scenario)
        on_step = None if args.json else (lambda step: print(step.line(), file=report, flush=True))
        result = diagnose(
            view,
            probe,
            suspects=args.suspect,
            scope=[s for s in args.scope if s in view.components] if args.scope else None,
            prefer=prefer,
            max_probes=args.max_probes,
            deadline_seconds=args.deadline,
            on_step=on_step,
        )
    if args.json:
        extra = {"colour": colour, "view": note} if args.live else {}
        print(json.dumps({**result.as_dict(), **extra}, indent=2, default=str))
    else:
        text = diagnosis_report(view, result)
        print(text.split("\n\n", 1)[1] if result.trail else text)  # steps were printed live
    return EXIT_OK if result.verdict.outcome == "healthy" else EXIT_FAILED

"""A Prometheus-compatible instant query API over the simulated traffic figures.

Answers ``GET|POST /api/v1/query`` in Prometheus' JSON format for a small PromQL subset: vector
selectors with ``=``, ``!=``, ``=~``, ``!~`` matchers, ``rate``/``irate``/``increase`` over a range,
``sum``/``avg``/``max``/``min``/``count`` with ``by (...)``, ``histogram_quantile``, the arithmetic
operators and number literals — enough for the queries in ``switchyard.release.conventions``.
Pods' CPU (cAdvisor's counter), memory and limits (gauges, as instant vectors) come from
``TrafficModel.pod_usage``. The
series are synthesised from ``TrafficModel`` at query time (see ``traffic.py`` for how), so a
behaviour change shows up in the next query. Anything else is answered ``400 bad_data`` with the
reason, as Prometheus does.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Any

from switchyard.localenv.httpbase import JsonHandler, Response
from switchyard.localenv.traffic import ColourFigures, PodUsage, TrafficModel
from switchyard.release.conventions import (
    APP_LABEL,
    COLOUR_LABEL,
    CPU_USAGE_METRIC,
    LATENCY_BUCKET_METRIC,
    LIMITS_METRIC,
    MEMORY_USAGE_METRIC,
    REQUESTS_METRIC,
)

Labels = tuple[tuple[str, str], ...]
Vector = list[tuple[Labels, float]]
STANDARD_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
_DURATION = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_TOKEN = re.compile(
    r"""\s*(?:
    (?P<dur>\[\s*\d+[smhdwy]\s*\])
  | (?P<num>\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+)
  | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>=~|!~|!=|==|=|[(){},/*+\-])
  | (?P<ident>[a-zA-Z_:][a-zA-Z0-9_:]*)
)""",
    re.VERBOSE,
)
_AGGREGATIONS = {"sum", "avg", "max", "min", "count"}
_RATE_FUNCTIONS = {"rate", "irate", "increase"}


class QueryError(ValueError):
    """A query outside the supported subset; the message says what and where."""


@dataclass
class RangeSelector:
    series: Vector
    window: float


# ----------------------------------------------------------------- series
GAUGES = {MEMORY_USAGE_METRIC, LIMITS_METRIC}  # served as instant vectors; the rest are counters


def synthesise(figures: list[ColourFigures], usage: list[PodUsage] = ()) -> dict[str, Vector]:
    """Per-second rates of each emulated counter series (values of the gauges), by metric name."""
    series: dict[str, Vector] = {
        REQUESTS_METRIC: [],
        LATENCY_BUCKET_METRIC: [],
        "http_request_duration_seconds_count": [],
        "http_request_duration_seconds_sum": [],
    }
    for f in figures:
        base = (("namespace", f.namespace), (APP_LABEL, f.app), (COLOUR_LABEL, f.colour))
        series[REQUESTS_METRIC].append(((*base, ("code", "200")), f.request_rate - f.error_rate))
        series[REQUESTS_METRIC].append(((*base, ("code", "500")), f.error_rate))
        # 99 % of requests spread evenly over [0, p99], 1 % over [p99, 2 x p99]; p99 itself is a bucket
        # bound so histogram_quantile(0.99, ...) gives it back exactly.
        p99 = f.p99_seconds
        for le in sorted({*STANDARD_BUCKETS, p99}):
            share = 0.99 * le / p99 if le <= p99 else min(0.99 + 0.01 * (le - p99) / p99, 1.0)
            series[LATENCY_BUCKET_METRIC].append(((*base, ("le", _format_le(le))), f.request_rate * share))
        series[LATENCY_BUCKET_METRIC].append(((*base, ("le", "+Inf")), f.request_rate))
        series["http_request_duration_seconds_count"].append((base, f.request_rate))
        series["http_request_duration_seconds_sum"].append((base, f.request_rate * p99 * 0.5))
    series.update({CPU_USAGE_METRIC: [], MEMORY_USAGE_METRIC: [], LIMITS_METRIC: []})
    for u in usage:
        pod = (("namespace", u.namespace), ("pod", u.pod), ("container", u.container))
        series[CPU_USAGE_METRIC].append((pod, u.cpu_cores))
        series[MEMORY_USAGE_METRIC].append((pod, u.memory_bytes))
        if u.cpu_limit_cores is not None:
            series[LIMITS_METRIC].append(((*pod, ("resource", "cpu"), ("unit", "core")), u.cpu_limit_cores))
        if u.memory_limit_bytes is not None:
            series[LIMITS_METRIC].append(
                ((*pod, ("resource", "memory"), ("unit", "byte")), u.memory_limit_bytes)
            )
    return series


def _format_le(value: float) -> str:
    return repr(float(value))


# ----------------------------------------------------------------- parser + evaluator
class _Evaluator:
    def __init__(self, query: str, series: dict[str, Vector]) -> None:
        self.query = query
        self.series = series
        self.tokens = self._tokenize(query)
        self.pos = 0

    @staticmethod
    def _tokenize(query: str) -> list[tuple[str, str]]:
        tokens, pos = [], 0
        while pos < len(query):
            if query[pos:].strip() == "":
                break
            m = _TOKEN.match(query, pos)
            if not m or m.end() == pos:
                raise QueryError(f"parse error at char {pos + 1}: unexpected character {query[pos]!r}")
            kind = m.lastgroup or ""
            tokens.append((kind, m.group(kind)))
            pos = m.end()
        return tokens

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (value is not None and token[1] != value):
            found = token[1] if token else "end of input"
            raise QueryError(f"parse error: expected {value or 'more input'!r}, found {found!r}")
        self.pos += 1
        return token

    def evaluate(self) -> float | Vector:
        result = self.expr()
        if self.peek() is not None:
            raise QueryError(f"parse error: unexpected {self.peek()[1]!r}")  # type: ignore[index]
        if isinstance(result, RangeSelector):
            raise QueryError("range vector selectors are only supported inside rate(), irate() or increase()")
        return result

    def expr(self) -> Any:
        left = self.term()
        while (token := self.peek()) and token[1] in ("+", "-"):
            self.take()
            left = _binary(token[1], left, self.term())
        return left

    def term(self) -> Any:
        left = self.unary()
        while (token := self.peek()) and token[1] in ("*", "/"):
            self.take()
            left = _binary(token[1], left, self.unary())
        return left

    def unary(self) -> Any:
        kind, value = self.take()
        if kind == "num":
            return float(value)
        if value == "(":
            inner = self.expr()
            self.take(")")
            return inner
        if value == "-":
            return _binary("*", -1.0, self.unary())
        if kind != "ident":
            raise QueryError(f"parse error: unexpected {value!r}")
        if value in _AGGREGATIONS:
            return self.aggregation(value)
        if self.peek() and self.peek()[1] == "(":  # type: ignore[index]
            return self.function(value)
        return self.selector(value)

    def labels_list(self) -> list[str]:
        self.take("(")
        names = []
        while self.peek() and self.peek()[1] != ")":  # type: ignore[index]
            names.append(self.take()[1])
            if self.peek() and self.peek()[1] == ",":  # type: ignore[index]
                self.take(",")
        self.take(")")
        return names

    def aggregation(self, op: str) -> Vector:
        by: list[str] | None = None
        if self.peek() and self.peek()[1] == "by":  # type: ignore[index]
            self.take()
            by = self.labels_list()
        self.take("(")
        inner = self.expr()
        self.take(")")
        if self.peek() and self.peek()[1] == "by":  # type: ignore[index]
            self.take()
            by = self.labels_list()
        if not isinstance(inner, list):
            raise QueryError(f"expected an instant vector in {op}(), got a {type(inner).__name__}")
        groups: dict[Labels, list[float]] = {}
        for labels, value in inner:
            key = tuple((k, v) for k, v in labels if by is not None and k in by)
            groups.setdefault(key, []).append(value)
        combine = {
            "sum": sum,
            "max": max,
            "min": min,
            "count": len,
            "avg": lambda values: sum(values) / len(values),
        }[op]
        return [(key, float(combine(values))) for key, values in groups.items()]

    def function(self, name: str) -> Any:
        self.take("(")
        if name in _RATE_FUNCTIONS:
            argument = self.expr()
            self.take(")")
            if not isinstance(argument, RangeSelector):
                raise QueryError(f"expected a range vector in {name}(), e.g. {name}(metric[1m])")
            factor = argument.window if name == "increase" else 1.0
            return [(labels, value * factor) for labels, value in argument.series]
        if name == "histogram_quantile":
            quantile = self.expr()
            self.take(",")
            vector = self.expr()
            self.take(")")
            if not isinstance(quantile, float) or not isinstance(vector, list):
                raise QueryError("histogram_quantile(φ, buckets) needs a number and an instant vector")
            return _histogram_quantile(quantile, vector)
        if name == "vector":
            value = self.expr()
            self.take(")")
            return [((), float(value))]
        raise QueryError(
            f"function {name}() is not supported by the emulator; supported: "
            "rate, irate, increase, histogram_quantile, vector"
        )

    def selector(self, metric: str) -> RangeSelector:
        matchers: list[tuple[str, str, str]] = []
        if self.peek() and self.peek()[1] == "{":  # type: ignore[index]
            self.take("{")
            while self.peek() and self.peek()[1] != "}":  # type: ignore[index]
                name = self.take()[1]
                op = self.take()[1]
                kind, raw = self.take()
                if kind != "str" or op not in ("=", "!=", "=~", "!~"):
                    raise QueryError(f"parse error in label matcher {name}{op}{raw}")
                matchers.append((name, op, raw[1:-1].encode().decode("unicode_escape")))
                if self.peek() and self.peek()[1] == ",":  # type: ignore[index]
                    self.take(",")
            self.take("}")
        token = self.peek()
        if metric in GAUGES and (not token or token[0] != "dur"):
            return [
                (labels, value)
                for labels, value in self.series.get(metric, [])
                if all(_match(dict(labels).get(n, ""), op, v) for n, op, v in matchers)
            ]
        if not token or token[0] != "dur":
            raise QueryError(
                f"{metric}: the emulator only serves counters through rate(), irate() or "
                f"increase() of a range, e.g. rate({metric}[1m])"
            )
        self.take()
        window_text = token[1].strip("[] ")
        window = float(window_text[:-1]) * _DURATION[window_text[-1]]
        if metric not in self.series:
            return RangeSelector([], window)
        selected = [
            (labels, value)
            for labels, value in self.series[metric]
            if all(_match(dict(labels).get(n, ""), op, v) for n, op, v in matchers)
        ]
        return RangeSelector(selected, window)


def _match(value: str, op: str, wanted: str) -> bool:
    if op == "=":
        return value == wanted
    if op == "!=":
        return value != wanted
    found = re.fullmatch(wanted, value) is not None
    return found if op == "=~" else not found


def _apply(op: str, a: float, b: float) -> float:
    if op == "/":
        if b == 0:
            return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)
        return a / b
    return {"*": a * b, "+": a + b, "-": a - b}[op]


def _binary(op: str, left: Any, right: Any) -> Any:
    if isinstance(left, RangeSelector) or isinstance(right, RangeSelector):
        raise QueryError("binary operators need instant vectors or numbers, not range vectors")
    if isinstance(left, float) and isinstance(right, float):
        return _apply(op, left, right)
    if isinstance(left, float):
        return [(labels, _apply(op, left, value)) for labels, value in right]
    if isinstance(right, float):
        return [(labels, _apply(op, value, right)) for labels, value in left]
    right_by_labels = dict(right)
    return [
        (labels, _apply(op, value, right_by_labels[labels]))
        for labels, value in left
        if labels in right_by_labels
    ]


def _histogram_quantile(q: float, buckets: Vector) -> Vector:
    groups: dict[Labels, list[tuple[float, float]]] = {}
    for labels, value in buckets:
        le = dict(labels).get("le")
        if le is None:
            continue
        key = tuple((k, v) for k, v in labels if k != "le")
        groups.setdefault(key, []).append((math.inf if le == "+Inf" else float(le), value))
    result = []
    for key, points in groups.items():
        points.sort()
        total = points[-1][1] if points and math.isinf(points[-1][0]) else math.nan
        if not total or math.isnan(total):
            result.append((key, math.nan))
            continue
        rank = q * total
        lower_bound, lower_count = 0.0, 0.0
        value = points[-2][0] if len(points) > 1 else math.nan
        for bound, count in points:
            if count >= rank:
                if math.isinf(bound):
                    value = lower_bound
                elif count == lower_count:
                    value = bound
                else:
                    value = lower_bound + (bound - lower_bound) * (rank - lower_count) / (count - lower_count)
                break
            lower_bound, lower_count = bound, count
        result.append((key, value))
    return result


def evaluate(query: str, figures: list[ColourFigures], usage: list[PodUsage] = ()) -> float | Vector:
    return _Evaluator(query, synthesise(figures, usage)).evaluate()


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if value != int(value) else str(int(value))


def query_response(
    query: str, figures: list[ColourFigures], at: float | None = None, usage: list[PodUsage] = ()
) -> dict[str, Any]:
    """The body of a successful ``/api/v1/query`` answer (raises ``QueryError``)."""
    result = evaluate(query, figures, usage)
    ts = at if at is not None else time.time()
    if isinstance(result, float):
        return {"status": "success", "data": {"resultType": "scalar", "result": [ts, _format_value(result)]}}
    return {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [
                {"metric": dict(labels), "value": [ts, _format_value(value)]} for labels, value in result
            ],
        },
    }


class PrometheusHandler(JsonHandler):
    fault_target = "prometheus"
    traffic: TrafficModel

    def route(self, method: str) -> None:
        path = self.url_path
        if path in ("/-/healthy", "/-/ready"):
            raise Response(200, "Prometheus Server is Ready.\n")
        if path == "/api/v1/status/buildinfo":
            raise Response(200, {"status": "success", "data": {"version": "2.53.0-switchyard-localenv"}})
        if path != "/api/v1/query" or method not in ("GET", "POST"):
            raise Response(
                404,
                {
                    "status": "error",
                    "errorType": "not_found",
                    "error": f"{method} {path} is not served by the emulator; use /api/v1/query",
                },
            )
        params = dict(self.query)
        if method == "POST" and "form" in (self.headers.get("Content-Type") or ""):
            from urllib.parse import parse_qs

            params.update({k: v[-1] for k, v in parse_qs(self.read_body().decode()).items()})
        query = params.get("query", "")
        if not query:
            raise Response(
                400,
                {
                    "status": "error",
                    "errorType": "bad_data",
                    "error": 'invalid parameter "query": empty query',
                },
            )
        try:
            at = float(params["time"]) if params.get("time") else None
        except ValueError:
            at = None  # an RFC 3339 time: the emulator only knows "now"
        try:
            usage = self.traffic.pod_usage() if "container_" in query or LIMITS_METRIC in query else []
            body = query_response(query, self.traffic.figures(), at, usage)
        except QueryError as exc:
            raise Response(400, {"status": "error", "errorType": "bad_data", "error": str(exc)}) from exc
        raise Response(200, body)

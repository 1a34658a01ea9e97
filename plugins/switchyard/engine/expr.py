"""The rule language of ``healthy``, ``when`` and ``while`` (spec Part 2 §3).

    rule    := or
    or      := and (("|" | "||" | "or") and)*
    and     := unary (("&" | "&&" | "and") unary)*
    unary   := "not" unary | "!" unary | "(" or ")" | ref CMP value
    CMP     := == | != | < | > | <= | >=

``ref`` is ``fact`` (of the current component) or ``component.fact``; the fact ``state`` is the
derived state. Evaluation is three-valued: a comparison whose fact is missing, forbidden or
transient is *unresolved*, never false. ``and``/``or`` evaluate both sides and let a definite
``false``/``true`` decide over an error, as the reference engine does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

NUMERIC_FACT_TYPES = {"int", "float", "duration", "bytes", "ratio", "percentage", "count"}
_COMPARISONS = ("==", "!=", "<=", ">=", "<", ">")

# Bounds (issue 14): real rules have a handful of comparisons and two levels of parentheses. The
# parser and the evaluator recurse, so nesting and length are capped where the rule is read — a
# rule that passes validation can always be evaluated.
MAX_RULE_CHARS = 2000
MAX_NESTING = 32  # parentheses and not, counted together
MAX_COMPARISONS = 64


class ExprSyntaxError(ValueError):
    """A rule that does not parse; ``column`` is 1-based."""

    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.column = column


@dataclass(frozen=True)
class Token:
    kind: str  # "op", "str", "word"
    text: str
    column: int  # 1-based


def tokenize(source: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch.isspace():
            i += 1
            continue
        two = source[i : i + 2]
        if two in ("==", "!=", "<=", ">=", "&&", "||"):
            tokens.append(Token("op", two, i + 1))
            i += 2
        elif ch in "=!<>&|()":
            tokens.append(Token("op", ch, i + 1))
            i += 1
        elif ch == '"':
            end = source.find('"', i + 1)
            if end < 0:
                raise ExprSyntaxError("unterminated string literal", i + 1)
            tokens.append(Token("str", source[i + 1 : end], i + 1))
            i = end + 1
        elif ch.isalnum() or ch in "_-+.":
            start = i
            i += 1
            while i < n and (source[i].isalnum() or source[i] in "_.-+"):
                i += 1
            tokens.append(Token("word", source[start:i], start + 1))
        else:
            raise ExprSyntaxError(f"unexpected character {ch!r}", i + 1)
    return tokens


# ---- syntax tree -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    component: str | None  # None: the current component
    fact: str
    op: str
    literal: Any  # bool, int, float or str
    literal_quoted: bool
    column: int


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    left: Node
    right: Node


@dataclass(frozen=True)
class Or:
    left: Node
    right: Node


Node = Comparison | Not | And | Or


@dataclass(frozen=True)
class Rule:
    """A parsed rule with its source text."""

    source: str
    tree: Node

    def comparisons(self) -> list[Comparison]:
        out: list[Comparison] = []
        stack: list[Node] = [self.tree]
        while stack:
            node = stack.pop()
            if isinstance(node, Comparison):
                out.append(node)
            elif isinstance(node, Not):
                stack.append(node.operand)
            else:
                stack.extend((node.right, node.left))
        return out


def parse_literal(text: str) -> Any:
    """An unquoted literal: true/false, integer, float, else the raw text."""
    if text == "true":
        return True
    if text == "false":
        return False
    body = text[1:] if text[:1] in "+-" else text
    if body.isdigit():
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


class _Parser:
    def __init__(self, source: str) -> None:
        if len(source) > MAX_RULE_CHARS:
            raise ExprSyntaxError(
                f"rule is {len(source):,} characters, over the {MAX_RULE_CHARS:,} limit — split it into "
                "several healthy rules",
                MAX_RULE_CHARS + 1,
            )
        self.source = source
        self.tokens = tokenize(source)
        self.pos = 0
        self.depth = 0
        self.comparisons = 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def end_column(self) -> int:
        return len(self.source) + 1

    def take(self) -> Token:
        tok = self.peek()
        if tok is None:
            raise ExprSyntaxError("unexpected end of rule", self.end_column())
        self.pos += 1
        return tok

    def at(self, *texts: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind in ("op", "word") and tok.text in texts

    def parse(self) -> Node:
        if not self.tokens:
            raise ExprSyntaxError("empty rule", 1)
        node = self.parse_or()
        tok = self.peek()
        if tok is not None:
            raise ExprSyntaxError(f"unexpected {tok.text!r} after a complete rule", tok.column)
        return node

    def parse_or(self) -> Node:
        node = self.parse_and()
        while self.at("|", "||", "or"):
            self.take()
            node = Or(node, self.parse_and())
        return node

    def parse_and(self) -> Node:
        node = self.parse_unary()
        while self.at("&", "&&", "and"):
            self.take()
            node = And(node, self.parse_unary())
        return node

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_NESTING:
            tok = self.peek()
            raise ExprSyntaxError(
                f"rule nests parentheses and not more than {MAX_NESTING} levels deep — simplify it",
                tok.column if tok else self.end_column(),
            )

    def parse_unary(self) -> Node:
        if self.at("not", "!"):
            self.take()
            self.nest()
            node = Not(self.parse_unary())
            self.depth -= 1
            return node
        if self.at("("):
            self.take()
            self.nest()
            node = self.parse_or()
            self.depth -= 1
            tok = self.peek()
            if tok is None or tok.text != ")":
                col = tok.column if tok else self.end_column()
                raise ExprSyntaxError(f"expected ')' but found {tok.text if tok else 'end of rule'!r}", col)
            self.take()
            return node
        return self.parse_comparison()

    def parse_comparison(self) -> Comparison:
        ref = self.take()
        self.comparisons += 1
        if self.comparisons > MAX_COMPARISONS:
            raise ExprSyntaxError(
                f"rule has more than {MAX_COMPARISONS} comparisons — split it into several healthy rules",
                ref.column,
            )
        if ref.kind != "word" or ref.text in ("and", "or", "not"):
            raise ExprSyntaxError(f"expected a fact name, found {ref.text!r}", ref.column)
        op = self.peek()
        if op is None:
            raise ExprSyntaxError(
                f"expected a comparison (== != < > <= >=) after {ref.text!r}", self.end_column()
            )
        if op.kind != "op" or op.text not in _COMPARISONS:
            hint = " (use == for equality)" if op.text == "=" else ""
            raise ExprSyntaxError(
                f"expected a comparison (== != < > <= >=), found {op.text!r}{hint}", op.column
            )
        self.take()
        value = self.peek()
        if value is None:
            raise ExprSyntaxError(f"expected a value after {op.text!r}", self.end_column())
        if value.kind == "op":
            raise ExprSyntaxError(f"expected a value after {op.text!r}, found {value.text!r}", value.column)
        self.take()
        component, _, fact = ref.text.partition(".")
        if not fact:
            component, fact = None, ref.text
        literal = value.text if value.kind == "str" else parse_literal(value.text)
        return Comparison(component, fact, op.text, literal, value.kind == "str", ref.column)


def parse(source: str) -> Rule:
    """Parse a rule; raises ExprSyntaxError with a 1-based column."""
    return Rule(source, _Parser(source).parse())


# ---- evaluation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unresolved:
    """A comparison could not be decided: its fact is missing, forbidden, transient or mistyped."""

    component: str
    fact: str
    reason: str  # missing | forbidden | transient | not_found | type mismatch


@dataclass(frozen=True)
class EvalFailure:
    """A rule that cannot be evaluated on this value at all (e.g. ``<`` on a boolean)."""

    message: str


EvalError = Unresolved | EvalFailure


@dataclass(frozen=True)
class Result:
    value: bool
    error: EvalError | None = None

    @property
    def true(self) -> bool:
        return self.error is None and self.value

    @property
    def false(self) -> bool:
        return self.error is None and not self.value


class FactLookup(Protocol):
    def lookup(self, component: str, fact: str) -> tuple[Any, str] | None:
        """Latest (value, status) of a fact, or None when never observed."""


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _numeric_compare(op: str, a: float, b: float) -> bool:
    if op == "==":
        return a == b
    if op == "!=":
        return a != b
    if op == "<":
        return a < b
    if op == ">":
        return a > b
    if op == "<=":
        return a <= b
    return a >= b


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value):
            return str(int(value))
        return format(value, "f").rstrip("0").rstrip(".") if math.isfinite(value) else str(value)
    return str(value)


def _equality(op: str, a: str, b: str) -> Result:
    if op == "==":
        return Result(a == b)
    if op == "!=":
        return Result(a != b)
    return Result(False, EvalFailure(f"operator {op} needs numbers"))


def evaluate(
    rule: Rule | Node,
    current: str,
    facts: FactLookup,
    states: Callable[[str], str | None] | None = None,
) -> Result:
    """Evaluate a rule for component ``current``; ``states`` gives derived states (may be None)."""
    node = rule.tree if isinstance(rule, Rule) else rule
    if isinstance(node, Comparison):
        return _compare(node, current, facts, states)
    if isinstance(node, Not):
        inner = evaluate(node.operand, current, facts, states)
        return inner if inner.error else Result(not inner.value)
    left = evaluate(node.left, current, facts, states)
    right = evaluate(node.right, current, facts, states)
    decisive = isinstance(node, Or)  # true decides an or, false decides an and
    if left.error and right.error:
        return Result(False, left.error)
    if left.error or right.error:
        other, error = (right, left.error) if left.error else (left, right.error)
        if other.value == decisive:
            return Result(decisive)
        return Result(False, error)
    return Result(left.value or right.value) if decisive else Result(left.value and right.value)


def _compare(node: Comparison, current: str, facts: FactLookup, states) -> Result:
    component = node.component or current
    op, literal = node.op, node.literal
    if node.fact == "state":
        state = states(component) if states else None
        if state is None:
            return Result(False, Unresolved(component, "state", "missing"))
        return _equality(op, state, _text(literal))
    found = facts.lookup(component, node.fact)
    if found is None or found[0] is None:
        status = found[1] if found else "missing"
        return Result(False, Unresolved(component, node.fact, status if status != "ok" else "missing"))
    value = found[0]
    if isinstance(value, bool):
        if literal is True or literal == "true":
            expected = True
        elif literal is False or literal == "false":
            expected = False
        else:
            return Result(False, Unresolved(component, node.fact, "type mismatch"))
        if op not in ("==", "!="):
            return Result(False, EvalFailure(f"operator {op} cannot compare booleans"))
        return Result((value == expected) == (op == "=="))
    if isinstance(value, str):
        lhs, rhs = _number(value), _number(literal)
        if lhs is not None and rhs is not None:
            return Result(_numeric_compare(op, lhs, rhs))
        return _equality(op, value, _text(literal))
    if isinstance(value, int | float):
        if isinstance(literal, bool):
            return Result(False, Unresolved(component, node.fact, "type mismatch"))
        rhs = _number(literal)
        if rhs is None:  # a bare name on the right: another fact of the same component
            other = facts.lookup(component, str(literal))
            if other is None or other[0] is None:
                status = other[1] if other else "missing"
                return Result(
                    False, Unresolved(component, str(literal), status if status != "ok" else "missing")
                )
            rhs = _number(other[0])
            if rhs is None:
                return Result(False, Unresolved(component, str(literal), "type mismatch"))
        return Result(_numeric_compare(op, float(value), rhs))
    return Result(
        False, EvalFailure(f"{component}.{node.fact} has a value that cannot be compared: {value!r}")
    )

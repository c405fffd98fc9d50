"""The run query language: text -> a small tree, shared by the Python API, CLI, REST API and dashboard.

>>> parse_filter("params.lr < 0.01 and (values.accuracy >= 0.9 or status = 'FAILED')")  # doctest: +ELLIPSIS
And(left=Compare(field=Field(kind='params', path=('lr',), position=0), op='<', value=0.01, ...
>>> parse_filter("values.accuracy <")
Traceback (most recent call last):
...
trackboard.errors.QueryError: at 17: expected a value after '<'

A recursive-descent parser over a regular-expression tokenizer; ``store/search.py`` compiles the
tree to SQLAlchemy expressions (never ``eval``). Positions are character offsets from 0.

Grammar (keywords are case-insensitive)::

    query      := or EOF
    or         := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | "(" or ")" | comparison
    comparison := field ( ("=" | "!=" | "<" | "<=" | ">" | ">=") value
                        | ["not"] "like" string | ["not"] "in" "(" value ("," value)* ")"
                        | "contains" string | "is" ["not"] "null" )
    field      := name | status | created_at | duration | tags
                | (params | values | last | min | max) ("." part)+       part: word or `quoted`
    value      := number | 'string' | "string" | true | false
    order      := field ["asc" | "desc"]
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Sequence, Union

from .errors import QueryError

PLAIN_FIELDS = ("name", "status", "created_at", "duration", "tags")
PATH_FIELDS = ("params", "values", "last", "min", "max")
STRING_FIELDS = ("name", "status")
NUMBER_FIELDS = ("created_at", "duration", "last", "min", "max")
COMPARISONS = ("=", "!=", "<", "<=", ">", ">=")
KEYWORDS = ("and", "or", "not", "like", "in", "contains", "is", "null", "true", "false", "asc", "desc")
FIELD_HELP = "name, status, created_at, duration, tags, params.<key>, values.<name>, last.<log>, min.<log> or max.<log>"

Literal = Union[float, int, str]


@dataclass(frozen=True)
class Field:
    """What a comparison reads: ``kind`` is a plain field or a prefix; ``path`` the dotted parts after it."""

    kind: str
    path: tuple[str, ...] = ()
    position: int = 0

    @property
    def key(self) -> str:
        """The parameter key or VALUE log name: the parts joined with ``.``."""
        return ".".join(self.path)

    def __str__(self) -> str:
        return ".".join([self.kind, *(_quoted(part) for part in self.path)])


@dataclass(frozen=True)
class Compare:
    """``field op value``; ``value`` is a literal, a tuple of them (``in``) or None (``is null``)."""

    field: Field
    op: str  # = != < <= > >= like in contains isnull (each may be negated by Not)
    value: Literal | tuple[Literal, ...] | None
    position: int = 0


@dataclass(frozen=True)
class And:
    left: "Node"
    right: "Node"


@dataclass(frozen=True)
class Or:
    left: "Node"
    right: "Node"


@dataclass(frozen=True)
class Not:
    operand: "Node"


Node = Union[Compare, And, Or, Not]


@dataclass(frozen=True)
class Order:
    field: Field
    descending: bool = False


# -- tokens ------------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""(?P<space>\s+)
      | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![A-Za-z_]))
      | (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
      | (?P<quoted>`(?:[^`]|``)*`)
      | (?P<word>[A-Za-z_][A-Za-z0-9_]*|\d+[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>!=|<>|<=|>=|==|[=<>(),.])
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    kind: str  # number string quoted word op end
    text: str
    position: int

    def describe(self) -> str:
        return "the end of the query" if self.kind == "end" else repr(self.text)


def tokenize(text: str) -> list[Token]:
    tokens, position = [], 0
    while position < len(text):
        if text[position] == "." and tokens and tokens[-1].kind in ("word", "quoted", "number") \
                and tokens[-1].position + len(tokens[-1].text) == position:
            # A dot right after a name separates parts (`params.layers.0`), it does not start `.5`.
            tokens.append(Token("op", ".", position))
            position += 1
            continue
        match = _TOKEN.match(text, position)
        if match is None:
            char = text[position]
            if char in "'\"`":
                raise QueryError(f"unterminated {char}quoted{char} text", position, text)
            raise QueryError(f"unexpected character {char!r}", position, text)
        if match.lastgroup != "space":
            tokens.append(Token(match.lastgroup, match.group(), position))
        position = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


# -- parser ------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise QueryError(f"a query is a string, got {type(text).__name__}")
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    # token helpers
    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index = min(self.index + 1, len(self.tokens) - 1)
        return token

    def keyword(self, *words: str) -> str | None:
        token = self.token
        if token.kind == "word" and token.text.lower() in words:
            self.advance()
            return token.text.lower()
        return None

    def symbol(self, *symbols: str) -> str | None:
        token = self.token
        if token.kind == "op" and token.text in symbols:
            self.advance()
            return token.text
        return None

    def fail(self, message: str, token: Token | None = None) -> QueryError:
        token = token or self.token
        return QueryError(message, token.position, self.text)

    def expect_end(self, what: str) -> None:
        if self.token.kind != "end":
            raise self.fail(f"expected {what}, found {self.token.describe()}")

    # grammar
    def parse_or(self) -> Node:
        node = self.parse_and()
        while self.keyword("or"):
            node = Or(node, self.parse_and())
        return node

    def parse_and(self) -> Node:
        node = self.parse_not()
        while self.keyword("and"):
            node = And(node, self.parse_not())
        return node

    def parse_not(self) -> Node:
        if self.keyword("not"):
            return Not(self.parse_not())
        opening = self.token
        if self.symbol("("):
            node = self.parse_or()
            if not self.symbol(")"):
                raise self.fail(f"expected ')' to close the '(' at {opening.position}, found {self.token.describe()}")
            return node
        return self.parse_comparison()

    def parse_field(self) -> Field:
        token = self.token
        if token.kind == "end":
            raise self.fail(f"expected a field ({FIELD_HELP})")
        if token.kind != "word" or token.text.lower() not in PLAIN_FIELDS + PATH_FIELDS:
            raise self.fail(f"unknown field {token.text!r}; expected {FIELD_HELP}")
        self.advance()
        kind = token.text.lower()
        path: list[str] = []
        while self.symbol("."):
            part = self.token
            if part.kind == "word" or part.kind == "number" and part.text.isdigit():
                path.append(part.text)
            elif part.kind == "quoted":
                path.append(part.text[1:-1].replace("``", "`"))
            else:
                raise self.fail(f"expected a name after '.', found {part.describe()} (quote names with `backticks`)")
            self.advance()
        if kind in PATH_FIELDS and not path:
            raise self.fail(f"expected '.' and a name after {kind!r} (e.g. {kind}.`train/loss`)")
        if kind in PLAIN_FIELDS and path:
            raise QueryError(f"{kind!r} has no parts; to read a parameter write params.{'.'.join(path)}",
                             token.position, self.text)
        return Field(kind, tuple(path), token.position)

    def parse_comparison(self) -> Node:
        field = self.parse_field()
        token = self.token
        negated = bool(self.keyword("not"))
        if negated and not (self.token.kind == "word" and self.token.text.lower() in ("like", "in")):
            raise self.fail(f"expected 'like' or 'in' after 'not', found {self.token.describe()}")
        if self.keyword("like"):
            value = self.parse_value("like", token)
            if not isinstance(value, str):
                raise self.fail("'like' takes a 'quoted' pattern", self.tokens[self.index - 1])
            node: Node = self.checked(Compare(field, "like", value, token.position))
        elif self.keyword("in"):
            node = self.checked(Compare(field, "in", self.parse_list(), token.position))
        elif self.keyword("contains"):
            value = self.parse_value("contains", token)
            node = self.checked(Compare(field, "contains", value, token.position))
        elif self.keyword("is"):
            is_not = bool(self.keyword("not"))
            if not self.keyword("null"):
                raise self.fail(f"expected 'null' after 'is{' not' if is_not else ''}', found {self.token.describe()}")
            node = self.checked(Compare(field, "isnull", None, token.position))
            negated = is_not
        else:
            op = self.symbol(*COMPARISONS, "<>", "==")
            if op is None:
                raise self.fail(
                    f"expected an operator after {str(field)!r} (= != < <= > >= like in contains is), "
                    f"found {token.describe()}"
                )
            op = {"<>": "!=", "==": "="}.get(op, op)
            node = self.checked(Compare(field, op, self.parse_value(op, token), token.position))
        return Not(node) if negated else node

    def parse_value(self, after: str, operator: Token) -> Literal:
        token = self.token
        if token.kind == "number":
            self.advance()
            number = float(token.text)
            return int(number) if number.is_integer() and re.fullmatch(r"[-+]?\d+", token.text) else number
        if token.kind == "string":
            self.advance()
            quote = token.text[0]
            return token.text[1:-1].replace(quote * 2, quote)
        if token.kind == "word" and token.text.lower() in ("true", "false"):
            self.advance()
            return 1 if token.text.lower() == "true" else 0
        if token.kind == "word" and token.text.lower() in ("inf", "infinity"):
            self.advance()
            return math.inf
        found = "" if token.kind == "end" else f", found {token.describe()}"
        raise self.fail(f"expected a value after {after!r}{found}")

    def parse_list(self) -> tuple[Literal, ...]:
        if not self.symbol("("):
            raise self.fail(f"expected '(' after 'in', found {self.token.describe()}")
        values = [self.parse_value("(", self.token)]
        while self.symbol(","):
            values.append(self.parse_value(",", self.token))
        if not self.symbol(")"):
            raise self.fail(f"expected ',' or ')' in the list, found {self.token.describe()}")
        return tuple(values)

    def checked(self, node: Compare) -> Compare:
        """The field and operator fit together; literals take the field's type."""
        field, op, value = node.field, node.op, node.value
        where = node.position
        if field.kind == "tags":
            if op not in ("contains", "isnull"):
                raise QueryError(f"tags are matched with 'contains' or 'is null', not {op!r}", where, self.text)
            if op == "contains" and not isinstance(value, str):
                raise QueryError("'contains' takes a 'quoted' tag", where, self.text)
            return node
        if op == "contains":
            raise QueryError(f"'contains' applies to tags, not {str(field)!r} (use like '%text%')", where, self.text)
        if op == "like" and field.kind in NUMBER_FIELDS:
            raise QueryError(f"{str(field)!r} is a number: 'like' matches text", where, self.text)
        values = value if isinstance(value, tuple) else (value,)
        converted = tuple(self.convert(field, item, where) for item in values) if op != "isnull" else values
        if isinstance(value, tuple):
            return Compare(field, op, converted, where)
        return Compare(field, op, converted[0], where)

    def convert(self, field: Field, value: Literal, where: int) -> Literal:
        if field.kind == "status" and isinstance(value, str):
            return value.upper()
        if field.kind in STRING_FIELDS and not isinstance(value, str):
            return _number_text(value)
        if field.kind == "created_at" and isinstance(value, str):
            return _timestamp(value, where, self.text)
        if field.kind in NUMBER_FIELDS and isinstance(value, str):
            raise QueryError(f"{str(field)!r} is a number; compare it with a number, not {value!r}", where, self.text)
        return value


def parse_filter(text: str | None) -> Node | None:
    """The tree of a filter (None for an empty or missing one); raises QueryError."""
    if text is None or (isinstance(text, str) and not text.strip()):
        return None
    parser = _Parser(text)
    node = parser.parse_or()
    parser.expect_end("'and', 'or' or the end of the query")
    return node


def parse_order(text: str) -> Order:
    """One sort key: ``"values.accuracy DESC"``, ``"created_at"``."""
    parser = _Parser(text)
    field = parser.parse_field()
    if field.kind == "tags":
        raise QueryError("runs are not sorted by tags", field.position, text)
    direction = parser.keyword("asc", "desc")
    parser.expect_end("'asc', 'desc' or the end of the sort key")
    return Order(field, direction == "desc")


def parse_order_by(order_by: str | Sequence[str] | None) -> list[Order]:
    """Sort keys from a list (``["values.accuracy DESC", "created_at"]``) or one comma-separated string."""
    if order_by is None:
        return []
    if isinstance(order_by, str):
        order_by = _split_commas(order_by)
    return [parse_order(item) for item in order_by if not isinstance(item, str) or item.strip()]


def parse_field(text: str) -> Field:
    """One field on its own (a column of ``trackboard ls --columns``)."""
    parser = _Parser(text)
    field = parser.parse_field()
    parser.expect_end("the end of the field")
    return field


def parse_columns(text: str) -> list[str]:
    """Comma-separated columns (commas inside `quoted` names do not split)."""
    return [part.strip() for part in _split_commas(text) if part.strip()]


def check_max_results(max_results: int | None) -> None:
    if max_results is not None and (isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 0):
        raise QueryError(f"max_results must be a whole number >= 0, got {max_results!r}")


def _split_commas(text: str) -> list[str]:
    # Commas inside `quoted` names do not split.
    parts, current, quoted = [], [], False
    for char in text:
        if char == "`":
            quoted = not quoted
        if char == "," and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def render(node: Node) -> str:
    """Query text for a tree (fully parenthesised, every name quoted); ``parse_filter`` reads it back.

    >>> render(parse_filter("not params.lr < 0.01 or name = 'a'"))
    "(not (params.`lr` < 0.01)) or (name = 'a')"
    """
    if isinstance(node, Not):
        return f"not ({render(node.operand)})"
    if isinstance(node, (And, Or)):
        word = "and" if isinstance(node, And) else "or"
        return f"({render(node.left)}) {word} ({render(node.right)})"
    field = node.field.kind + "".join("." + "`" + part.replace("`", "``") + "`" for part in node.field.path)
    if node.op == "isnull":
        return f"{field} is null"
    if node.op == "in":
        return f"{field} in ({', '.join(_literal(value) for value in node.value)})"
    return f"{field} {node.op} {_literal(node.value)}"


def _literal(value: Literal) -> str:
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if value == math.inf:
        return "inf"
    return repr(value)


def _quoted(part: str) -> str:
    return part if re.fullmatch(r"[A-Za-z0-9_]+", part) else "`" + part.replace("`", "``") + "`"


def _number_text(value: float | int) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _timestamp(text: str, where: int, query: str) -> float:
    """An ISO date or date-time (UTC unless it says otherwise) as seconds since the epoch."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise QueryError(f"created_at compares with seconds or an ISO date like '2026-01-31', not {text!r}",
                         where, query) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()

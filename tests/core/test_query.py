"""The run query grammar (trackboard/query.py): every operator, precedence, quoting, and errors
with positions; unit tests plus hypothesis properties (render -> parse round trips, any text either
parses or raises QueryError with a position inside it)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trackboard import QueryError
from trackboard.query import (
    And,
    Compare,
    Field,
    Not,
    Or,
    Order,
    parse_field,
    parse_filter,
    parse_order_by,
    render,
)


def compare(kind, path, op, value):
    """A Compare without positions (positions are checked separately)."""
    return Compare(Field(kind, tuple(path)), op, value)


def strip(node):
    """The tree with every position set to 0."""
    if isinstance(node, Compare):
        return Compare(Field(node.field.kind, node.field.path), node.op, node.value)
    if isinstance(node, Not):
        return Not(strip(node.operand))
    return type(node)(strip(node.left), strip(node.right))


# -- operators and fields ------------------------------------------------------------------------


@pytest.mark.parametrize("text, expected", [
    ("params.lr < 0.01", compare("params", ["lr"], "<", 0.01)),
    ("params.lr <= 1", compare("params", ["lr"], "<=", 1)),
    ("values.accuracy > -2.5e-3", compare("values", ["accuracy"], ">", -2.5e-3)),
    ("values.accuracy >= .5", compare("values", ["accuracy"], ">=", 0.5)),
    ("name = 'bert'", compare("name", [], "=", "bert")),
    ('name == "bert"', compare("name", [], "=", "bert")),
    ("name != 'x'", compare("name", [], "!=", "x")),
    ("name <> 'x'", compare("name", [], "!=", "x")),
    ("name like 'bert-%'", compare("name", [], "like", "bert-%")),
    ("name in ('a', 'b')", compare("name", [], "in", ("a", "b"))),
    ("params.seed in (1, 2.5, 'x')", compare("params", ["seed"], "in", (1, 2.5, "x"))),
    ("tags contains 'baseline'", compare("tags", [], "contains", "baseline")),
    ("params.lr is null", compare("params", ["lr"], "isnull", None)),
    ("params.amp = true", compare("params", ["amp"], "=", 1)),
    ("params.amp = FALSE", compare("params", ["amp"], "=", 0)),
    ("max.loss < inf", compare("max", ["loss"], "<", math.inf)),
    ("last.loss > 1", compare("last", ["loss"], ">", 1)),
    ("min.loss.train > 1", compare("min", ["loss", "train"], ">", 1)),
    ("min.`val/loss` < 0.35", compare("min", ["val/loss"], "<", 0.35)),
    ("params.optimizer.lr = 1", compare("params", ["optimizer", "lr"], "=", 1)),
    ("params.layers.0 = 64", compare("params", ["layers", "0"], "=", 64)),
    ("params.`a``b` = 1", compare("params", ["a`b"], "=", 1)),
    ("name = 'it''s'", compare("name", [], "=", "it's")),
    ("status = 'failed'", compare("status", [], "=", "FAILED")),
    ("name = 12", compare("name", [], "=", "12")),
    ("duration > 60", compare("duration", [], ">", 60)),
    ("created_at > '2026-01-01'", compare("created_at", [], ">", 1767225600.0)),
    ("created_at > '2026-01-01T00:00:00+01:00'", compare("created_at", [], ">", 1767222000.0)),
])
def test_every_operator_and_field(text, expected):
    assert strip(parse_filter(text)) == expected


def test_negations():
    assert strip(parse_filter("not name = 'a'")) == Not(compare("name", [], "=", "a"))
    assert strip(parse_filter("name not like 'a%'")) == Not(compare("name", [], "like", "a%"))
    assert strip(parse_filter("name not in ('a')")) == Not(compare("name", [], "in", ("a",)))
    assert strip(parse_filter("params.x is not null")) == Not(compare("params", ["x"], "isnull", None))
    assert strip(parse_filter("not not name = 'a'")) == Not(Not(compare("name", [], "=", "a")))


def test_precedence_not_over_and_over_or():
    a, b, c = (compare("params", [key], "=", 1) for key in "abc")
    assert strip(parse_filter("params.a = 1 or params.b = 1 and params.c = 1")) == Or(a, And(b, c))
    assert strip(parse_filter("(params.a = 1 or params.b = 1) and params.c = 1")) == And(Or(a, b), c)
    assert strip(parse_filter("not params.a = 1 and params.b = 1")) == And(Not(a), b)
    assert strip(parse_filter("params.a = 1 and params.b = 1 and params.c = 1")) == And(And(a, b), c)


def test_keywords_and_fields_are_case_insensitive_names_are_not():
    assert strip(parse_filter("NAME = 'a' AND Params.LR Is Not Null")) == And(
        compare("name", [], "=", "a"), Not(compare("params", ["LR"], "isnull", None)))


def test_positions_point_at_the_field_and_operator():
    node = parse_filter("name = 'a' and  params.lr < 1")
    assert node.left.field.position == 0 and node.left.position == 5
    assert node.right.field.position == 16 and node.right.position == 26


def test_empty_filters_match_everything():
    assert parse_filter(None) is None and parse_filter("") is None and parse_filter("   ") is None


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, position, message", [
    ("values.accuracy <", 17, "expected a value after '<'"),
    ("values.accuracy < and", 18, "expected a value after '<', found 'and'"),
    ("foo = 1", 0, "unknown field 'foo'"),
    ("params = 1", 7, "expected '.' and a name after 'params'"),
    ("params. = 1", 8, "expected a name after '.'"),
    ("name.x = 1", 0, "'name' has no parts"),
    ("name 'a'", 5, "expected an operator after 'name'"),
    ("(name = 'a'", 11, "expected ')' to close the '(' at 0"),
    ("name = 'a')", 10, "expected 'and', 'or' or the end of the query"),
    ("name = 'a' and", 14, "expected a field"),
    ("name = 'unterminated", 7, "unterminated"),
    ("params.`open = 1", 7, "unterminated"),
    ("name = 'a' ; drop", 11, "unexpected character ';'"),
    ("tags = 'a'", 5, "tags are matched with 'contains' or 'is null'"),
    ("name contains 'a'", 5, "'contains' applies to tags"),
    ("min.loss like 'a'", 9, "'like' matches text"),
    ("name like 3", 10, "'like' takes a 'quoted' pattern"),
    ("name in 'a'", 8, "expected '(' after 'in'"),
    ("name in ('a' 'b')", 13, "expected ',' or ')'"),
    ("params.x is 1", 12, "expected 'null' after 'is'"),
    ("name not = 'a'", 9, "expected 'like' or 'in' after 'not'"),
    ("min.loss < 'a'", 9, "is a number"),
    ("created_at > 'yesterday'", 11, "ISO date"),
])
def test_malformed_queries_name_the_position_and_what_was_expected(text, position, message):
    with pytest.raises(QueryError) as caught:
        parse_filter(text)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.position == position
    assert str(error).startswith(f"at {position}: ")
    assert message in str(error)


def test_a_filter_that_is_not_text_is_a_query_error():
    with pytest.raises(QueryError, match="a query is a string"):
        parse_filter(3)


# -- sort keys -------------------------------------------------------------------------------------


def test_sort_keys():
    assert parse_order_by(["values.accuracy DESC", "created_at"]) == [
        Order(Field("values", ("accuracy",), 0), True), Order(Field("created_at", (), 0), False)]
    assert [o.descending for o in parse_order_by("min.`a,b` desc, name asc")] == [True, False]
    assert parse_order_by("min.`a,b` desc, name")[0].field.path == ("a,b",)
    assert parse_order_by(None) == [] and parse_order_by([]) == []
    with pytest.raises(QueryError, match="at 16: expected 'asc', 'desc'"):
        parse_order_by(["values.accuracy DOWN"])
    with pytest.raises(QueryError, match="not sorted by tags"):
        parse_order_by(["tags"])
    assert parse_field("last.`train/loss`") == Field("last", ("train/loss",), 0)


# -- properties ------------------------------------------------------------------------------------

names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)
numbers = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False, allow_infinity=False, width=32).map(float))
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=8)


@st.composite
def fields(draw):
    kind = draw(st.sampled_from(["name", "status", "params", "values", "last", "min", "max", "duration"]))
    path = tuple(draw(st.lists(names, min_size=1, max_size=3))) if kind in ("params", "values", "last", "min", "max") else ()
    return Field(kind, path)


@st.composite
def comparisons(draw):
    field = draw(fields())
    numeric = field.kind in ("last", "min", "max", "duration")
    stringy = field.kind in ("name", "status")
    literal = numbers if numeric else (texts if stringy else st.one_of(numbers, texts))
    if field.kind == "status":
        literal = texts.map(str.upper)
    op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">=", "in", "isnull"] + ([] if numeric else ["like"])))
    if op == "in":
        return Compare(field, op, tuple(draw(st.lists(literal, min_size=1, max_size=3))))
    if op == "isnull":
        return Compare(field, op, None)
    if op == "like":
        return Compare(field, op, draw(texts.map(str.upper) if field.kind == "status" else texts))
    return Compare(field, op, draw(literal))


trees = st.recursive(
    comparisons(),
    lambda children: st.one_of(st.builds(And, children, children), st.builds(Or, children, children),
                               st.builds(Not, children)),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(trees)
def test_rendered_trees_parse_back_to_themselves(tree):
    assert strip(parse_filter(render(tree))) == tree


alphabet = st.sampled_from(list("abcnotdeslikparmvu._`'\"()=<>!,-0123456789 %*") + ["and ", "or ", "not ", "params.",
                                                                                     "is null", " in ", "like "])


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.lists(alphabet, max_size=20).map("".join), st.text(max_size=30)))
def test_any_text_parses_or_raises_a_positioned_query_error(text):
    try:
        parse_filter(text)
    except QueryError as error:
        assert error.position is None or 0 <= error.position <= len(text)

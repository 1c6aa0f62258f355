"""Splitting SQL files into statements, with offsets that map errors back to lines."""

from __future__ import annotations

import pytest

from paysim_cli.migrations.statements import line_at, runs_outside_transaction, split_statements


def texts(source: str) -> list[str]:
    return [statement.text for statement in split_statements(source)]


def test_splits_on_top_level_semicolons_and_skips_comments() -> None:
    source = "-- header; not a statement\nSELECT 1;\n/* block; /* nested; */ still */ SELECT 2 ; \n\n"
    assert texts(source) == ["SELECT 1", "SELECT 2"]


def test_the_last_statement_needs_no_semicolon() -> None:
    assert texts("SELECT 1;\nSELECT 2\n-- trailing comment\n") == [
        "SELECT 1",
        "SELECT 2\n-- trailing comment",
    ]


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT 'a;b', 'it''s; fine'",
        "SELECT E'escaped \\' quote;'",
        'SELECT 1 AS "odd;""name"',
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$ SELECT 1; $$",
        "DO $body$ BEGIN PERFORM 1; RAISE NOTICE '$$;'; END $body$",
        "SELECT 1 -- a comment; with a semicolon\n + 1",
    ],
)
def test_semicolons_inside_literals_quotes_and_bodies_do_not_split(statement: str) -> None:
    assert texts(f"{statement};\nSELECT 2;") == [statement, "SELECT 2"]


def test_dollar_signs_in_identifiers_and_parameters_are_not_quotes() -> None:
    assert texts("SELECT a$b$ FROM t$1;\nSELECT $1;") == ["SELECT a$b$ FROM t$1", "SELECT $1"]


def test_an_identifier_ending_in_e_does_not_start_an_escape_string() -> None:
    assert texts("SELECT date'2020-01-01\\';\nSELECT 2;") == ["SELECT date'2020-01-01\\'", "SELECT 2"]


@pytest.mark.parametrize("source", ["SELECT 'open", "SELECT $$ open", "SELECT 1 /* open"])
def test_unterminated_text_runs_to_the_end_of_the_file(source: str) -> None:
    assert len(split_statements(source)) <= 1


def test_offsets_point_at_each_statement_in_the_file() -> None:
    source = "-- one\n\nSELECT 1;\n  SELECT\n  2;"
    first, second = split_statements(source)
    assert (line_at(source, first.offset), line_at(source, second.offset)) == (3, 4)
    assert source[second.offset :].startswith("SELECT\n  2")


def test_the_no_transaction_marker_counts_only_in_the_leading_comments() -> None:
    assert runs_outside_transaction("\n-- paysim:no-transaction\nCREATE INDEX CONCURRENTLY i ON t (c);")
    assert runs_outside_transaction("-- why this index\n--paysim:no-transaction\nSELECT 1;")
    assert not runs_outside_transaction("SELECT 1;\n-- paysim:no-transaction\n")
    assert not runs_outside_transaction("-- mentions `-- paysim:no-transaction` in prose\nSELECT 1;")
    assert not runs_outside_transaction("")

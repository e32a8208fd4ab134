"""The reproduced readers against their upstream's own test cases, so the harness is the app's
parser and not our idea of it."""

from __future__ import annotations

import pytest

from tests.apps.harness import ParseError, compose_dotenv

# compose-spec/compose-go dotenv/godotenv_test.go (@e70e961), TestParsing: line -> (key, value).
COMPOSE_GO_CASES = [
    ("FOO=bar", "FOO", "bar"),
    ("FOO =bar", "FOO", "bar"),
    ("FOO= bar", "FOO", "bar"),
    ('FOO="bar"', "FOO", "bar"),
    ("FOO='bar'", "FOO", "bar"),
    ('FOO="escaped\\"bar"', "FOO", 'escaped"bar'),
    ('FOO="\\"quoted\\""', "FOO", '"quoted"'),
    ("FOO=\"'d'\"", "FOO", "'d'"),
    ("OPTION_A: 1", "OPTION_A", "1"),
    ("OPTION_A=1:B", "OPTION_A", "1:B"),
    ("export OPTION_B='\\n'", "OPTION_B", "\\n"),
    ("exportFOO=2", "exportFOO", "2"),
    ('export OPTION_A="export A"', "OPTION_A", "export A"),
    ('FOO="bar\\nbaz"', "FOO", "bar\nbaz"),
    ("FOO=a\\tb", "FOO", "a\\tb"),
    ('KEY="Z\\aZ\\bZ\\fZ\\nZ\\rZ\\tZ\\vZ\\\\Z\\0123Z"', "KEY", "Z\aZ\bZ\fZ\nZ\rZ\tZ\vZ\\ZSZ"),
    ("FOO=foobar=", "FOO", "foobar="),
    ("FOO=bar ", "FOO", "bar"),
    ("FOO=bar # this is foo", "FOO", "bar"),
    ("FOO=123#not-an-inline-comment", "FOO", "123#not-an-inline-comment"),
    ('FOO="bar#baz" # comment', "FOO", "bar#baz"),
    ("FOO='bar#baz' # comment", "FOO", "bar#baz"),
    ('FOO="bar\\n\\ b\\az"', "FOO", "bar\n\\ b\az"),
    ('FOO="bar\\\\r\\ b\\az"', "FOO", "bar\\r\\ b\az"),
    ('FOO="bar\\nbaz\\\\"', "FOO", "bar\nbaz\\"),
    ('KEY="\\x07"', "KEY", "\\x07"),
    ('KEY="\\u12e4"', "KEY", "\\u12e4"),
]


@pytest.mark.parametrize(("line", "key", "value"), COMPOSE_GO_CASES)
def test_the_compose_dotenv_port_reads_compose_go_s_own_cases(line: str, key: str, value: str) -> None:
    assert compose_dotenv(line) == {key: value}


def test_the_compose_dotenv_port_refuses_what_compose_refuses() -> None:
    with pytest.raises(ParseError, match="unterminated quoted value"):
        compose_dotenv("PASSWORD='p\\'\n")
    assert compose_dotenv("A=1\nB='it\\'s'\n") == {"A": "1", "B": "it's"}  # \' escapes in single quotes

"""Property tests of every export format: random passwords and sender names either reach the
app exactly, through the parser its users run and the app's own settings code, or the export
refuses them with the one-line error naming the app, the problem and the fix."""

from __future__ import annotations

import email.headerregistry
import email.policy
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from smtpwizard.core.errors import ExportError
from smtpwizard.core.exporters import export, exporters
from smtpwizard.core.settings import Config, Secret, Sender
from tests.apps.harness import ParseError
from tests.apps.reading import read_exports
from tests.apps.test_end_to_end import config_for
from tests.conftest import TEST_SECRET
from tests.servers import USERNAME

# Words YAML 1.1 / go-yaml read as booleans, numbers or null; template and shell markers.
WORDS = ["y", "N", "yes", "on", "off", "null", "~", "1e3", "0o17", "0x1F", "123456", "-7", "true", "false",
         "{{config}}", "#{1+1}", "${PATH}", "$HOME", "%s", "*ERROR.", "@here", "a: b", "a #b", "p\\", " ", "x "]  # fmt: skip
ALPHABET = st.sampled_from([*list("aZ09'\"\\$#{}`:@!%&*=-_/,;<>|~ \t."), "é", "ü", "中", "😀", "\x85", "\u2028", "\n"])
TEXT = st.one_of(st.sampled_from(WORDS), st.text(ALPHABET, min_size=1, max_size=14))
CASES = sorted((app_id, fmt) for app_id, app in exporters().items() for fmt in app.formats)


def _name_of(sender: str) -> str | None:
    """The display name a From header value carries, as a mail reader decodes it."""
    header = email.policy.default.header_factory("From", sender)
    (address,) = header.addresses  # type: ignore[attr-defined]
    assert isinstance(address, email.headerregistry.Address)
    return address.display_name or None


def _config(target: str, name: str) -> Config:
    security = "tls" if target == "selfmx" else "starttls"
    config = config_for(security, 465 if security == "tls" else 587)
    return Config(smtp=config.smtp, sender=Sender("app@example.com", name), provider="custom", verified=config.verified)


def _check_refusal(target: str, exc: ExportError) -> None:
    message = str(exc)
    assert "\n" not in message
    assert message.startswith(f"{exporters()[target].name} export: ") and "; " in message, message


@pytest.mark.parametrize(("target", "fmt"), CASES, ids=[f"{t}-{f}" for t, f in CASES])
# Each example is a batch of 25 exports read by one process per parser; no shrinking (it would
# rerun the parsers hundreds of times): the failing value is in the assertion message.
@settings(
    max_examples=2,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(pairs=st.lists(st.tuples(TEXT, TEXT), min_size=25, max_size=25))
@example(pairs=[(TEST_SECRET, 'Example, Inc: "Ops" #1'), ("Zx9'q\"$HOME ${PATH} #c \\ \\\\x `id` %s {}", "Ünï, Ltd.")])
def test_passwords_and_names_reach_the_app_exactly_or_are_refused(
    target: str, fmt: str, pairs: list[tuple[str, str]], tmp_path: Path, go_clients: Path
) -> None:
    texts: list[str] = []
    kept: list[tuple[str, str]] = []
    for password, name in pairs:
        try:
            texts.append(export(target, _config(target, name), Secret(password), fmt=fmt, reveal=True).text)
        except ExportError as exc:
            _check_refusal(target, exc)
            continue
        kept.append((password, name))
    for (password, name), reading in zip(kept, read_exports(target, fmt, texts, tmp_path, go_clients), strict=True):
        case = f"password {password!r}, name {name!r}"
        assert not isinstance(reading, ParseError), f"the app cannot read this export ({case}): {reading}"
        assert reading["password"] == password, case
        assert reading["username"] == USERNAME, case
        _check_sender(target, fmt, reading, name)


def _check_sender(target: str, fmt: str, reading: dict[str, Any], name: str) -> None:
    sender = reading["sender"]
    if target in ("forem", "discourse", "selfmx"):
        return  # they carry the address only
    if target in ("mattermost", "sourcegraph") and fmt in ("json", "env", "compose"):
        assert sender == name
        return
    # Runs of white space in a display name are folding, not content: compare what a reader shows.
    assert " ".join((_name_of(sender) or "").split()) == " ".join(name.split()), (sender, name)

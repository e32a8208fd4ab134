"""One home per app: every app is one module under smtpwizard/core/apps/, and nothing else
in the package asks which app it is."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from smtpwizard.core.apps import APP_IDS, APPS, get_app
from smtpwizard.core.consequences import consequences_for
from smtpwizard.core.exporters import exporters
from smtpwizard.core.targets import TARGET_IDS, TARGETS

PACKAGE = Path(__file__).parents[2] / "smtpwizard"
APPS_DIR = PACKAGE / "core" / "apps"


@pytest.mark.parametrize("app_id", APP_IDS)
def test_each_app_lives_in_its_own_module(app_id: str) -> None:
    module = importlib.import_module(f"smtpwizard.core.apps.{app_id}")
    app = module.APP
    assert app is get_app(app_id)
    assert app.name and app.where and app.blurb
    assert app.default_format in app.formats
    assert set(app.write_into) <= set(app.formats)
    assert app.profile.auth_mechanisms
    assert all(c.id.startswith(app_id) for c in app.consequences)


def test_targets_exports_and_consequences_are_views_over_the_apps_registry() -> None:
    assert TARGETS == APPS
    assert TARGET_IDS == APP_IDS
    assert list(exporters().values()) == list(APPS)
    forem = [c.id for c in consequences_for("forem", None)]
    assert "forem_logout" in forem and "forem_logout" not in [c.id for c in consequences_for("gitlab", None)]


def test_no_module_outside_an_app_names_that_app() -> None:
    ids = "|".join(APP_IDS)
    literal = re.compile(rf"""["']({ids})["']""")
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        if path.parent == APPS_DIR and path.stem in APP_IDS:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if literal.search(line):
                offenders.append(f"{path.relative_to(PACKAGE)}:{number}: {line.strip()}")
    assert offenders == []


def test_the_old_per_app_homes_are_gone() -> None:
    assert not any((PACKAGE / "core" / "exporters" / f"{app_id}.py").exists() for app_id in APP_IDS)
    assert "BY_TARGET" not in (PACKAGE / "core" / "consequences.py").read_text()


# --- SelfMX says what is true -------------------------------------------------------------------


def test_selfmx_export_says_it_reads_no_smtp_and_shows_what_ses_needs() -> None:
    from smtpwizard.core.exporters import export
    from tests.core.test_exporters import make_config

    ses = make_config("starttls", host="email-smtp.eu-west-1.amazonaws.com", username="AKIAEXAMPLE")
    result = export("selfmx", ses, None)
    assert "# SelfMX does not read SMTP settings" in result.text
    assert "aduggleby/selfmx src/SelfMX.Api/Program.cs" in result.text
    assert "#   AWS_REGION=eu-west-1  (Aws__Region" in result.text
    assert "#   AWS_ACCESS_KEY_ID=AKIAEXAMPLE  (Aws__AccessKeyId" in result.text
    assert "AWS_SECRET_ACCESS_KEY=...  (Aws__SecretAccessKey" in result.text
    assert "The SMTP_* lines below are from its former docs" in result.text
    assert result.notes[0].startswith("SelfMX does not read SMTP settings")
    other = export("selfmx", make_config("starttls"), None)
    assert "# SelfMX cannot send through smtp.example.com: it only sends through Amazon SES." in other.text
    selfmx = next(c for c in consequences_for("selfmx", None) if c.id == "selfmx_unverified")
    assert selfmx.what.startswith("SelfMX does not read SMTP settings")


def test_export_list_says_plainly_that_selfmx_reads_no_smtp() -> None:
    import io

    from smtpwizard.cli import main

    out = io.StringIO()
    assert main(["export", "--list"], out=out, err=io.StringIO()) == 0
    lines = out.getvalue().splitlines()
    at = next(i for i, line in enumerate(lines) if line.split()[:1] == ["selfmx"])
    assert lines[at + 1].strip().startswith("SelfMX does not read SMTP settings")
    assert "Amazon SES" in lines[at + 1]


# --- new apps are one module each ----------------------------------------------------------------


def test_every_app_module_is_registered_and_nothing_else_lists_apps() -> None:
    modules = {p.stem for p in APPS_DIR.glob("*.py")} - {
        "__init__",
        "base",
        "readers",
    }  # readers: shared import helpers
    assert modules == set(APP_IDS)
    assert {"gitea", "authentik", "ghost"} <= modules


def test_authentik_refuses_a_password_it_would_read_as_a_reference() -> None:
    from smtpwizard.core.errors import ExportError
    from smtpwizard.core.exporters import export
    from smtpwizard.core.settings import Secret
    from tests.core.test_exporters import make_config

    with pytest.raises(ExportError, match="authentik export: it reads a value starting with env:// or file://"):
        export("authentik", make_config(), Secret("env://HOME"), reveal=True)
    assert ("AUTHENTIK_EMAIL__USE_SSL", True) in export("authentik", make_config("tls"), None).values


def test_ghost_and_gitea_write_the_switches_their_clients_read() -> None:
    from smtpwizard.core.exporters import export
    from tests.core.test_exporters import make_config

    ghost = {s: dict(export("ghost", make_config(s), None).values) for s in ("starttls", "tls", "none")}
    assert ghost["starttls"]["mail.options.requireTLS"] is True and "mail.options.ignoreTLS" not in ghost["starttls"]
    assert ghost["tls"]["mail.options.secure"] is True and "mail.options.requireTLS" not in ghost["tls"]
    assert ghost["none"]["mail.options.ignoreTLS"] is True
    off = dict(export("ghost", make_config(verify_certificate=False), None).values)
    assert off["mail.options.tls.rejectUnauthorized"] is False
    gitea = {s: dict(export("gitea", make_config(s), None).values) for s in ("starttls", "tls", "none")}
    assert [gitea[s]["GITEA__mailer__PROTOCOL"] for s in gitea] == ["smtp+starttls", "smtps", "smtp"]
    assert (
        dict(export("gitea", make_config(verify_certificate=False), None).values)[
            "GITEA__mailer__FORCE_TRUST_SERVER_CERT"
        ]
        is True
    )


# --- README: each app's limits, one table made from the profiles -------------------------------------

STARTTLS_WORDS = {
    "required": "required",
    "opportunistic": "when offered (cannot require)",
    "whenever-offered": "whenever offered",
    "never": "no",
}
PLAINTEXT_WORDS = {"anywhere": "yes", "localhost-names": "PLAIN only to localhost/127.0.0.1/::1", "never": "never"}


def limits_table() -> str:
    """Each app's limits, as README shows them (one row per app, from its ClientProfile)."""
    head = (
        "| app | library | STARTTLS | implicit TLS | `security: none` | verify switch | CA file | AUTH choice "
        "| password charset | login without TLS | formats |"
    )
    rows = [head, "|" + "---|" * 11]
    for app in APPS:
        p = app.profile
        none = "upgrades if offered" if p.starttls == "whenever-offered" else "plain text"
        choice = (
            f"first offered of {', '.join(p.auth_mechanisms)}"
            if p.auth_choice == "preference"
            else f"`{p.auth_setting}` ({', '.join(p.auth_mechanisms)})"
        )
        cells = [
            app.id,
            p.library,
            STARTTLS_WORDS[p.starttls],
            "yes" if p.implicit_tls else "no",
            none,
            f"`{p.verify_switch}`" if p.verify_switch else "none (always verifies)",
            f"`{p.ca_file_setting}`" if p.ca_file_setting else "system store only",
            choice,
            "ASCII only" if p.charset == "ascii" else "UTF-8",
            PLAINTEXT_WORDS[p.plaintext_login],
            ", ".join(f"`{f}`" for f in app.formats),
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def test_readme_shows_each_apps_limits_as_the_profiles_say() -> None:
    readme = (PACKAGE.parent / "README.md").read_text()
    assert "## Apps: each app's limits" in readme
    assert limits_table() in readme

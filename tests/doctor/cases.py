"""The doctor's test matrix: each app's real-looking file (tests/fixtures/apps), the edits that make
one mistake in it, and the app's own mail code that must deliver after --fix (tests/apps)."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.apps import harness
from tests.servers import Mailbox, ServerThread, smtp_server

FIXTURES = Path(__file__).parents[1] / "fixtures" / "apps"
# A space and a '#': every file must quote it, and it is unique enough to search every output for.
PASSWORD = "doctor-Pw 9#x"
WRONG_PASSWORD = "not-the-Pw 9#x"

Edits = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class AppCase:
    app: str
    file: str
    implicit_tls: Edits = ()  # the file set to implicit TLS; () when the app has none
    contradiction: Edits = ()  # two security flags at once; () when the app cannot say that
    mangled: Edits = ()  # the password written so the app's reader changes it
    mangled_password: str = ""
    words: dict[str, str] = field(default_factory=dict)  # mistake -> a key the fix must name


CASES = {
    "mastodon": AppCase(
        "mastodon",
        "mastodon.env.production",
        implicit_tls=(("SMTP_ENABLE_STARTTLS=always", "SMTP_TLS=true"),),
        contradiction=(("SMTP_ENABLE_STARTTLS=always", "SMTP_ENABLE_STARTTLS=always\nSMTP_TLS=true"),),
        mangled=(("'__PASSWORD__'", '"__PASSWORD__"'),),
        mangled_password="dr$HOME_9x",
        words={"starttls_on_implicit": "SMTP_TLS", "tls_on_starttls": "SMTP_ENABLE_STARTTLS"},
    ),
    "mattermost": AppCase(
        "mattermost",
        "mattermost.config.json",
        implicit_tls=(('"ConnectionSecurity": "STARTTLS"', '"ConnectionSecurity": "TLS"'),),
        words={"starttls_on_implicit": "ConnectionSecurity", "tls_on_starttls": "ConnectionSecurity"},
    ),
    "gitlab": AppCase(
        "gitlab",
        "gitlab.rb",
        implicit_tls=(
            ("['smtp_enable_starttls_auto'] = true", "['smtp_enable_starttls_auto'] = false"),
            ("['smtp_tls'] = false", "['smtp_tls'] = true"),
        ),
        contradiction=(("['smtp_tls'] = false", "['smtp_tls'] = true"),),
        words={"starttls_on_implicit": "smtp_tls", "tls_on_starttls": "smtp_enable_starttls_auto"},
    ),
    "discourse": AppCase(
        "discourse",
        "discourse.app.yml",
        implicit_tls=(("DISCOURSE_SMTP_ENABLE_START_TLS: true ", "DISCOURSE_SMTP_FORCE_TLS: true "),),
        mangled=(('"__PASSWORD__"', "'__PASSWORD__'"),),
        mangled_password="dr\\q9x",
        words={"starttls_on_implicit": "DISCOURSE_SMTP_FORCE_TLS", "tls_on_starttls": "DISCOURSE_SMTP_FORCE_TLS"},
    ),
    "forem": AppCase(
        "forem",
        "forem.env",
        mangled=(("'__PASSWORD__'", '"__PASSWORD__"'),),
        mangled_password="dr$HOME_9x",
    ),
    "posthog": AppCase(
        "posthog",
        "posthog.env",
        implicit_tls=(("EMAIL_USE_TLS=true\nEMAIL_USE_SSL=false", "EMAIL_USE_TLS=false\nEMAIL_USE_SSL=true"),),
        contradiction=(("EMAIL_USE_SSL=false", "EMAIL_USE_SSL=true"),),
        mangled=(("'__PASSWORD__'", '"__PASSWORD__"'),),
        mangled_password="dr$HOME_9x",
        words={"starttls_on_implicit": "EMAIL_USE_SSL", "tls_on_starttls": "EMAIL_USE_TLS"},
    ),
    "django": AppCase(
        "django",
        "django.env",
        implicit_tls=(("EMAIL_USE_TLS=True\nEMAIL_USE_SSL=False", "EMAIL_USE_TLS=False\nEMAIL_USE_SSL=True"),),
        contradiction=(("EMAIL_USE_SSL=False", "EMAIL_USE_SSL=True"),),
        mangled=(),  # python-dotenv expands ${...} in any quotes: reported, but nothing can write it
        mangled_password="dr${HOME}9x",
        words={"starttls_on_implicit": "EMAIL_USE_SSL", "tls_on_starttls": "EMAIL_USE_TLS"},
    ),
    "sourcegraph": AppCase("sourcegraph", "sourcegraph.site-config.json"),
    "authentik": AppCase(
        "authentik",
        "authentik.env",
        implicit_tls=(
            ("AUTHENTIK_EMAIL__USE_TLS=true", "AUTHENTIK_EMAIL__USE_TLS=false"),
            ("AUTHENTIK_EMAIL__USE_SSL=false", "AUTHENTIK_EMAIL__USE_SSL=true"),
        ),
        contradiction=(("AUTHENTIK_EMAIL__USE_SSL=false", "AUTHENTIK_EMAIL__USE_SSL=true"),),
        mangled=(("'__PASSWORD__'", '"__PASSWORD__"'),),
        mangled_password="dr$HOME_9x",
        words={"starttls_on_implicit": "AUTHENTIK_EMAIL__USE_SSL", "tls_on_starttls": "AUTHENTIK_EMAIL__USE_TLS"},
    ),
    "gitea": AppCase(
        "gitea",
        "gitea.app.ini",
        implicit_tls=(("PROTOCOL = smtp+starttls", "PROTOCOL = smtps"),),
        words={"starttls_on_implicit": "PROTOCOL", "tls_on_starttls": "PROTOCOL"},
    ),
    "ghost": AppCase(
        "ghost",
        "ghost.config.production.json",
        implicit_tls=(('"secure": false,\n      "requireTLS": true,', '"secure": true,'),),
        words={"starttls_on_implicit": "mail.options.secure", "tls_on_starttls": "mail.options.secure"},
    ),
}

# The mistakes, each with the server it meets and what the file holds.
MISTAKES = (
    "starttls_on_implicit",  # STARTTLS set, the port speaks implicit TLS (465)
    "tls_on_starttls",  # implicit TLS set, the port speaks STARTTLS (587)
    "wrong_password",
    "missing_auth",  # a login set, the relay offers no AUTH
    "untrusted_ca",
    "contradictory_flags",
    "mangled_password",
)


def write_app_file(tmp_path: Path, case: AppCase, port: int, edits: Edits = (), password: str = PASSWORD) -> Path:
    """The app's fixture with the server filled in and ``edits`` made; 0600 like a real secret file."""
    text = (FIXTURES / case.file).read_text(encoding="utf-8")
    for old, new in edits:
        assert old in text, f"{case.file}: {old!r} not found"
        text = text.replace(old, new)
    text = text.replace("__HOST__", "127.0.0.1").replace("__PORT__", str(port)).replace("__PASSWORD__", password)
    path = tmp_path / case.file
    path.write_text(text, encoding="utf-8")
    path.chmod(0o640)
    return path


@contextlib.contextmanager
def server_for(
    mistake: str, good_tls: ssl.SSLContext, untrusted_tls: ssl.SSLContext, password: str = PASSWORD
) -> Iterator[tuple[ServerThread, Mailbox]]:
    if mistake == "starttls_on_implicit":
        server = smtp_server(password=password, implicit_context=good_tls, auth_require_tls=False)
    elif mistake == "untrusted_ca":
        server = smtp_server(password=password, starttls_context=untrusted_tls)
    elif mistake == "missing_auth":
        server = smtp_server(
            password=password, starttls_context=good_tls, require_auth=False, auth_exclude=("PLAIN", "LOGIN")
        )
    else:
        server = smtp_server(password=password, starttls_context=good_tls)
    with server as running:
        yield running


# --- the app's own client code, reading the file as the app does (tests/apps) ----------------------

Deliver = Callable[[Path, str, Path, Path], harness.Sent]


def _truthy(value: str) -> bool:
    return value.strip().lower() in ("true", "1", "yes", "on", "y", "t", "ok")


def _django_like(
    env: dict[str, str], prefix: str, username: str, password: str, from_key: str, ca: str
) -> harness.Sent:
    return harness.django_send(
        host=env[f"{prefix}HOST"], port=int(env[f"{prefix}PORT"]), username=env.get(username, ""),
        password=env.get(password, ""), use_tls=_truthy(env.get(f"{prefix}USE_TLS", "")),
        use_ssl=_truthy(env.get(f"{prefix}USE_SSL", "")), timeout=10, from_email=env[from_key], ca_file=ca,
    )  # fmt: skip


def deliver_mastodon(path: Path, ca: str, go: Path, tmp: Path) -> harness.Sent:
    return harness.ruby_app_send("mastodon", {"env": harness.ruby_dotenv(path.read_text(), 3)}, ca)


def deliver_forem(path: Path, ca: str, go: Path, tmp: Path) -> harness.Sent:
    return harness.ruby_app_send("forem", {"env": harness.ruby_dotenv(path.read_text(), 2)}, ca)


def deliver_discourse(path: Path, ca: str, go: Path, tmp: Path) -> harness.Sent:
    return harness.ruby_app_send("discourse", {"env": harness.discourse_launcher(path.read_text(), tmp)}, ca)


def deliver_gitlab(path: Path, ca: str, go: Path, tmp: Path) -> harness.Sent:
    # gitlab.rb's other settings call omnibus methods (external_url): a no-op stands in for them.
    source = "def external_url(*) end\n" + path.read_text()
    return harness.ruby_app_send("gitlab", {"gitlab_rb": source}, ca)


def deliver_mattermost(path: Path, ca: str, go: Path, tmp: Path) -> harness.Sent:
    return harness.go_app_send("mattermost", go, ca, config=path.read_text())


def deliver_posthog(path: Path, ca: str, go: Path, tmp: Path) -> harness.Sent:
    s = harness.posthog_settings(harness.compose_dotenv(path.read_text()))
    return harness.django_send(
        host=s["EMAIL_HOST"], port=s["EMAIL_PORT"], username=s["EMAIL_HOST_USER"], password=s["EMAIL_HOST_PASSWORD"],
        use_tls=s["EMAIL_USE_TLS"], use_ssl=s["EMAIL_USE_SSL"], timeout=s["EMAIL_TIMEOUT"],
        from_email=s["EMAIL_DEFAULT_FROM"], ca_file=ca,
    )  # fmt: skip


def deliver_django(path: Path, ca: str, go: Path, tmp: Path) -> harness.Sent:
    env = {k: v or "" for k, v in harness.python_dotenv(path.read_text()).items()}
    return _django_like(env, "EMAIL_", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD", "DEFAULT_FROM_EMAIL", ca)


def deliver_authentik(path: Path, ca: str, go: Path, tmp: Path) -> harness.Sent:
    env = harness.compose_dotenv(path.read_text())
    prefix = "AUTHENTIK_EMAIL__"
    return _django_like(env, prefix, prefix + "USERNAME", prefix + "PASSWORD", prefix + "FROM", ca)


def deliver_ghost(path: Path, ca: str, go: Path, tmp: Path) -> harness.Sent:
    return harness.node_app_send("ghost", path.read_text(), ca)


def deliver_sourcegraph(path: Path, ca: str, go: Path, tmp: Path) -> harness.Sent:
    from smtpwizard.core.apps.readers import strip_json_comments  # Sourcegraph reads it as JSONC

    return harness.go_app_send("sourcegraph", go, ca, config=strip_json_comments(path.read_text()))


DELIVER: dict[str, Deliver] = {
    "sourcegraph": deliver_sourcegraph,
    "ghost": deliver_ghost,
    "mastodon": deliver_mastodon,
    "forem": deliver_forem,
    "discourse": deliver_discourse,
    "gitlab": deliver_gitlab,
    "mattermost": deliver_mattermost,
    "posthog": deliver_posthog,
    "django": deliver_django,
    "authentik": deliver_authentik,
}

"""The parsers each app's users really run, and each app's own mail code, for tests/apps.

Every reader here is the real thing or a line-by-line reproduction of it with its source cited:
docker compose's .env rules, Ruby dotenv 2.x (Debian's gem) and 3.x, python-dotenv, django-environ,
Helm's go-yaml v2, Discourse's launcher loop (real bash), omnibus' templates (real ERB); and the
clients: Django's EmailBackend, the Ruby mail gem with net-smtp, Go's net/smtp.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest

HERE = Path(__file__).parent
RUBY = HERE / "ruby"
TO = "rcpt@example.net"
# A sandbox environment for the client processes: nothing of ours leaks in.
BASE_ENV = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", "HOME": os.environ.get("HOME", "/")}


def need(tool: str, package: str) -> str:
    """The path of ``tool``; under CI=true a missing tool fails the test instead of skipping it."""
    path = shutil.which(tool)
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"CI must provide {tool} (apt package {package}; .ci/run installs it)")
        pytest.skip(f"needs {tool}: apt-get install {package}")
    return path


def need_ruby_library(library: str, package: str) -> None:
    need("ruby", "ruby")
    done = subprocess.run(["ruby", "-e", f'require "{library}"'], capture_output=True, timeout=60)
    if done.returncode != 0:
        if os.environ.get("CI"):
            pytest.fail(f"CI must provide the Ruby library {library} (apt package {package})")
        pytest.skip(f"needs the Ruby library {library}: apt-get install {package}")


def _run(argv: list[str], stdin: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, input=stdin, capture_output=True, text=True, timeout=120, env={**BASE_ENV, **(env or {})}
    )


# --- .env readers ------------------------------------------------------------------------------


class ParseError(Exception):
    """The reader refused the file (as the app would fail to start)."""


_SPACE = "\t\v\f\r \x85\xa0"  # compose-go isSpace: no line feed


def _compose_expand(value: str, env: dict[str, str]) -> str:
    """compose-go template substitution as its dotenv uses it: $$ is a literal $, $VAR and ${VAR}
    (with :- / - defaults) expand from the values read so far."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "$$":
            return "$"
        if token == "${":
            raise ParseError(f"Invalid template: {value!r}")
        name = match.group("braced") or match.group("plain")
        default = match.group("default")
        if name in env:
            return env[name]
        return default or ""

    pattern = (
        r"\$\$|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?::?-(?P<default>[^}]*))?\}|\$(?P<plain>[A-Za-z_][A-Za-z0-9_]*)"
        r"|\$\{"  # any other ${ is an invalid template: compose refuses the file
    )
    return re.sub(pattern, replace, value)


_COMPOSE_ESCAPES = re.compile(r"\\(?:[abcfnrtv$\"\\]|0\d{0,3})")


def _compose_escapes(value: str) -> str:
    """compose-go expandEscapes: Go escapes in double quotes; \\$ becomes $$ (a literal $)."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "\\$":
            return "$$"
        if token.startswith("\\0"):
            # \0ddd is rewritten to \ddd for strconv.UnquoteChar (three octal digits); when that
            # fails, compose-go keeps the rewritten text.
            digits = token[2:]
            if len(digits) == 3 and all(d in "01234567" for d in digits) and int(digits, 8) < 256:
                return chr(int(digits, 8))
            return "\\" + digits
        simple = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", '"': '"', "\\": "\\"}
        return simple.get(token[1], token)

    return _COMPOSE_ESCAPES.sub(replace, value)


def compose_dotenv(text: str) -> dict[str, str]:
    """docker compose's .env reader, ported from compose-spec/compose-go dotenv/parser.go
    (@e70e961: parse, locateKeyName, extractVarValue, expandEscapes). Raises ParseError where
    compose refuses the file."""
    out: dict[str, str] = {}
    rest = text
    while True:
        stripped = rest.lstrip()
        if not stripped:
            return out
        if stripped.startswith("#"):
            newline = stripped.find("\n")
            if newline < 0:
                return out
            rest = stripped[newline:]
            continue
        rest = stripped
        if re.match(r"export\s+", rest):
            rest = rest[len("export") :].lstrip(_SPACE)
        match = re.match(r"([^=:\n]*)([=:\n])", rest)
        if not match:
            raise ParseError("zero length string")
        key = match.group(1).rstrip()
        if not re.fullmatch(r"[\w.\-\[\]]*", "".join(c for c in key if c not in _SPACE)):
            raise ParseError(f"unexpected character in variable name {key!r}")
        if " " in key:
            raise ParseError("key cannot contain a space")
        rest = rest[match.end() :]
        if match.group(2) == "\n":
            continue  # inherited from the environment: none here
        rest = rest.lstrip(_SPACE)
        if not rest or rest[0] not in "'\"":
            line, _, rest = rest.partition("\n")
            line = line.split(" #", 1)[0].rstrip()
            out[key] = _compose_expand(line, out)
            continue
        quote, chars, escaped = rest[0], [], False
        for i in range(1, len(rest)):
            char = rest[i]
            if char != quote:
                if not escaped and char == "\\":
                    escaped = True
                    continue
                if escaped:
                    escaped = False
                    chars.append("\\")
                chars.append(char)
                continue
            if escaped:
                escaped = False
                chars.append(char)
                continue
            value = "".join(chars)
            if quote == '"':
                value = _compose_expand(_compose_escapes(value), out)
            out[key] = value
            rest = rest[i + 1 :]
            break
        else:
            raise ParseError(f"unterminated quoted value {rest.splitlines()[0]}")


def ruby_dotenv(text: str, major: int) -> dict[str, str]:
    """Ruby dotenv's parser (Debian's 2.x gem, or 3.x rules), as Rails apps load .env files."""
    need_ruby_library("dotenv", "ruby-dotenv")
    (result,) = ruby_read_many(f"dotenv{major}", [text])
    if isinstance(result, ParseError):
        raise result
    return result


def ruby_read_many(kind: str, items: list[Any]) -> list[Any]:
    """One Ruby process reading many inputs (tests/apps/ruby/read_many.rb): each result, or a
    ParseError where the reader or the app's mapping refused it."""
    need_ruby_library("mail", "ruby-mail")
    done = _run(["ruby", str(RUBY / "read_many.rb")], json.dumps({"kind": kind, "items": items}))
    assert done.returncode == 0, done.stderr
    return [ParseError(r["error"]) if isinstance(r, dict) and "error" in r else r for r in json.loads(done.stdout)]


def python_dotenv(text: str) -> dict[str, str | None]:
    """python-dotenv's dotenv_values (interpolation on, its default), as Django sites load .env."""
    from dotenv import dotenv_values

    return dict(dotenv_values(stream=io.StringIO(text)))


def django_environ(text: str, key: str) -> str:
    """django-environ: Env.read_env then env.str(key), with its $-proxy rule, in a private environ."""
    import environ

    class Env(environ.Env):  # type: ignore[misc]
        ENVIRON: ClassVar[dict[str, str]] = {}

    Env.read_env(io.StringIO(text), overwrite=True)
    return str(Env().str(key))


def helm_yaml(text: str, binary: Path) -> dict[str, Any]:
    """The values as Helm reads them (go-yaml v2): every scalar as {type, value}."""
    done = _run([str(binary), "yaml"], text)
    if done.returncode != 0:
        raise ParseError(done.stdout.strip())
    return json.loads(done.stdout)  # type: ignore[no-any-return]


# discourse/discourse_docker launcher (@e071c2c, lines 379-417): Ruby merges the env: sections and
# prints "-e\nKEY=VALUE"; bash reads that with `while read i` (no -r) and replaces {{config}}.
# Its Ruby body runs once here for many app.yml files (each one's input read as the launcher's
# stdin would be), with a marker line between them, to spare a Ruby start per file.
_LAUNCHER_RUBY = r"""
require 'yaml'
ARGV.each do |file|
input=File.read(file)
env = {'LANG' => 'en_US.UTF-8'}
input.split('_FILE_SEPERATOR_').each do |yml|
   yml.strip!
   begin
     env.merge!(YAML.load(yml)['env'] || {})
   rescue Psych::SyntaxError => e
    puts e
    puts "*ERROR."
   rescue => e
    puts yml
    p e
   end
end
env.each{|k,v| puts "*ERROR." if v.is_a?(Hash)}
puts env.map{|k,v| "-e\n#{k}=#{v}" }.join("\n")
puts "*NEXT-FILE."
end
"""
_LAUNCHER_BASH = r"""
config=app
raw=$(ruby -e "$env_ruby" "$@")
env=()
ok=1
while read i; do
  if [ "$i" == "*NEXT-FILE." ]; then
    if [ "$ok" -eq 1 ]; then printf '%s\0' "${env[@]}"; else printf 'YAML syntax error\0'; fi
    printf '\1\0'
    env=()
    ok=1
  elif [ "$i" == "*ERROR." ]; then
    ok=0
  elif [ -n "$i" ]; then
    env[${#env[@]}]="${i//\{\{config\}\}/${config}}"
  fi
done <<< "$raw"
"""


def discourse_launcher_many(app_ymls: list[str], tmp_path: Path) -> list[dict[str, str] | ParseError]:
    """The environment ./launcher gives the Discourse container for each app.yml (one bash run)."""
    need("bash", "bash")
    need("ruby", "ruby")
    paths = []
    for number, app_yml in enumerate(app_ymls):
        path = tmp_path / f"app-{number}.yml"
        path.write_text(app_yml, encoding="utf-8")
        paths.append(str(path))
    done = subprocess.run(
        ["bash", "-c", _LAUNCHER_BASH, "launcher", *paths],
        capture_output=True,
        timeout=120,
        env={**BASE_ENV, "env_ruby": _LAUNCHER_RUBY},
    )
    assert done.returncode == 0, done.stderr
    results: list[dict[str, str] | ParseError] = []
    for record in done.stdout.decode("utf-8").split("\1\0")[:-1]:
        results.append(_launcher_env(record.split("\0")[:-1]))
    return results


def _launcher_env(items: list[str]) -> dict[str, str] | ParseError:
    if items == ["YAML syntax error"] or len(items) % 2:
        return ParseError("the launcher read a stray line or a YAML error")
    env: dict[str, str] = {}
    for flag, assignment in zip(items[::2], items[1::2], strict=True):
        if flag != "-e":
            return ParseError(f"the launcher read a stray line {flag!r}")
        key, _, value = assignment.partition("=")
        env[key] = value
    return env


def discourse_launcher(app_yml: str, tmp_path: Path) -> dict[str, str]:
    """The environment ./launcher gives the Discourse container for this app.yml."""
    (env,) = discourse_launcher_many([app_yml], tmp_path)
    if isinstance(env, ParseError):
        raise env
    return env


def compose_environment(text: str, service: str) -> dict[str, str]:
    """A compose file's ``environment:`` for ``service`` as compose passes it: YAML, then
    compose-go interpolation ($$ is a literal $) on every value."""
    import yaml

    data = yaml.safe_load(text)
    environment = data["services"][service]["environment"]
    return {str(k): _compose_expand(str(v), {}) for k, v in environment.items()}


# --- the apps' mail code ---------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    ok: bool
    detail: str  # the error, or the settings the app built (no password)


def ruby_app_send(app: str, payload: dict[str, Any], ca_file: str) -> Sent:
    """Mastodon, Discourse, GitLab or Forem: the app's settings mapping + mail gem + net-smtp."""
    need_ruby_library("mail", "ruby-mail")
    request = json.dumps({"app": app, "to": TO, **payload})
    done = _run(["ruby", str(RUBY / "deliver.rb")], request, {"SSL_CERT_FILE": ca_file})
    result = json.loads(done.stdout or '{"ok": false, "error": "no output"}')
    return Sent(bool(result["ok"]), result.get("error") or json.dumps(result))


def node_app_send(app: str, config: str, ca_file: str) -> Sent:
    """Ghost: its mail options handed to nodemailer (Debian's node-nodemailer), trusting ``ca_file``
    as Ghost's own note says (NODE_EXTRA_CA_CERTS)."""
    need("node", "nodejs")
    if not Path("/usr/share/nodejs/nodemailer").is_dir():
        if os.environ.get("CI"):
            pytest.fail("CI must provide node-nodemailer (.ci/run installs it)")
        pytest.skip("needs apt-get install node-nodemailer")
    request = json.dumps({"config": config, "to": TO})
    env = {"NODE_PATH": "/usr/share/nodejs", "NODE_EXTRA_CA_CERTS": ca_file}
    done = _run(["node", str(HERE / "node" / f"{app}.js")], request, env)
    result = json.loads(done.stdout or '{"ok": false, "error": "no output"}')
    return Sent(bool(result["ok"]), result.get("error", ""))


def go_app_send(app: str, binary: Path, ca_file: str, config: str = "null", env: dict[str, str] | None = None) -> Sent:
    """Mattermost or Sourcegraph: their connection code on Go's net/smtp."""
    request = json.dumps({"config": json.loads(config), "env": env or {}, "to": TO})
    done = _run([str(binary), app], request, {"SSL_CERT_FILE": ca_file})
    return Sent(done.returncode == 0, done.stdout.strip())


def posthog_settings(env: dict[str, str]) -> dict[str, Any]:
    """PostHog's instance settings from its environment: posthog/settings/dynamic_settings.py
    (get_from_env defaults and casts) and posthog/utils.py str_to_bool."""

    def str_to_bool(value: str) -> bool:
        return value.strip().lower() in ("y", "yes", "t", "true", "on", "1")

    return {
        "EMAIL_ENABLED": str_to_bool(env.get("EMAIL_ENABLED", "true")),
        "EMAIL_HOST": env.get("EMAIL_HOST", ""),
        "EMAIL_PORT": int(env.get("EMAIL_PORT") or 25),
        "EMAIL_HOST_USER": env.get("EMAIL_HOST_USER", ""),
        "EMAIL_HOST_PASSWORD": env.get("EMAIL_HOST_PASSWORD", ""),
        "EMAIL_USE_TLS": str_to_bool(env.get("EMAIL_USE_TLS", "false")),
        "EMAIL_USE_SSL": str_to_bool(env.get("EMAIL_USE_SSL", "false")),
        "EMAIL_DEFAULT_FROM": env.get("EMAIL_DEFAULT_FROM", "root@localhost"),
        "EMAIL_TIMEOUT": int(env.get("EMAIL_TIMEOUT") or 10),
    }


def django_ready() -> None:
    """Django configured once per process with its defaults (each test passes its own settings)."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend")
        django.setup()


def django_send(
    *, host: str, port: int, username: str, password: str, use_tls: bool, use_ssl: bool, timeout: float | None,
    from_email: str, ca_file: str,
) -> Sent:  # fmt: skip
    """Django's own SMTP EmailBackend (what PostHog's posthog/email.py _send_via_smtp and every
    Django site use), trusting ``ca_file`` as the system store (SSL_CERT_FILE)."""
    django_ready()
    from django.core.mail import EmailMessage
    from django.core.mail.backends.smtp import EmailBackend

    previous = os.environ.get("SSL_CERT_FILE")
    os.environ["SSL_CERT_FILE"] = ca_file
    try:
        backend = EmailBackend(
            host=host, port=port, username=username, password=password, use_tls=use_tls, use_ssl=use_ssl,
            timeout=timeout,
        )  # fmt: skip
        EmailMessage("smtpwizard app test", "hello", from_email, [TO], connection=backend).send()
    except Exception as exc:  # any failure is the app's failure, reported as such
        return Sent(False, f"{type(exc).__name__}: {exc}")
    finally:
        if previous is None:
            os.environ.pop("SSL_CERT_FILE", None)
        else:
            os.environ["SSL_CERT_FILE"] = previous
    return Sent(True, "")

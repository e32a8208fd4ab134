"""Reading an app's existing mail settings where the app reads them, with the app's own rules.

Shared by the ``read_settings`` function at the end of each app module: ``.env`` files as the
app's dotenv reader sees them, JSON with comments (Sourcegraph), ``gitlab_rails['smtp_*']``
assignments (omnibus gitlab.rb), the ``env:`` section of Discourse's app.yml and INI sections.
Every value keeps its file and line, so a value that cannot be read is reported there and never
guessed. A password that the app's reader changes (expands, cuts, unescapes) is kept both as the
app reads it and as written, so the doctor can say so before any connection is made.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from smtpwizard.core.errors import InputMissing, WizardError
from smtpwizard.core.exit_codes import ExitCode
from smtpwizard.core.settings import Config, Secret, Sender, SmtpSettings, is_loopback

MAX_FILE_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Found:
    """One key as the app reads it: its value (None: absent), where it is, and the text as written."""

    key: str
    value: str | None = field(repr=False)  # may be a secret: never shown
    line: int = 0  # 0: not in the file (a default, or the environment)
    written: str | None = field(default=None, repr=False)  # as written, when the app's reader changes it
    origin: str = ""  # where it came from when not the file (e.g. 'the environment')


class Unreadable(WizardError):
    """Values of the app's file that cannot be read as the app would; one line each."""

    exit_code = ExitCode.DATA_ERROR

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Contradiction:
    """Settings the app cannot use together, found before any connection."""

    code: str
    keys: tuple[str, ...]
    line: int
    problem: str  # in the app's words, never holding a secret
    fix: str
    settings_change: dict[str, Any] | None = None  # smtpwizard's fields, like a Diagnosis
    use_written_password: bool = False  # the fix writes the password as written, quoted for the app


WriteKind = Literal["env", "json", "gitlab_rb", "app_yml", "json_paths", "jsonc", "ini_mailer"]


@dataclass(frozen=True)
class Imported:
    """An app's mail settings as read from its file: the wizard's settings model plus where each came from."""

    app: str  # the app's id
    path: Path
    fmt: str  # the export format that matches the file
    write_kind: WriteKind | None  # how --fix writes into the file; None: edit it by hand
    config: Config
    password: Secret | None  # as the app will send it; never stored or shown
    fields: dict[str, str]  # smtpwizard field -> the app's key, for the diagnoses
    found: dict[str, Found]
    contradictions: tuple[Contradiction, ...] = ()
    notes: tuple[str, ...] = ()
    credential_key: str | None = None
    written_password: Secret | None = field(default=None, repr=False)  # when the app's reader changes it
    export_prefix: str = ""  # dropped from the export's key names to match the file's (Gitea's app.ini)
    symptoms: dict[str, str] = field(default_factory=dict)  # diagnosis code -> what the app shows its users

    @property
    def smtp(self) -> SmtpSettings:
        return self.config.smtp


class Collector:
    """Gathers the problems of one file, each as one line with the file, line and key."""

    def __init__(self, path: Path, found: Mapping[str, Found]) -> None:
        self.path = path
        self.found = found
        self.problems: list[str] = []
        self.used: set[str] = set()

    def kept(self, *extra: str) -> dict[str, Found]:
        """Only the keys the app's mail settings read (plus ``extra``): nothing else of the file is kept."""
        wanted = self.used | set(extra)
        return {key: entry for key, entry in self.found.items() if key in wanted}

    def add(self, key: str, problem: str, fix: str) -> None:
        entry = self.found.get(key)
        if entry is not None and entry.origin:  # the environment or a compose file overrides the file
            where = entry.origin
        else:
            where = f"{self.path}:{entry.line}" if entry is not None and entry.line else str(self.path)
        self.problems.append(f"{where}: {key}: {problem}; {fix}")

    def raise_if_any(self) -> None:
        if self.problems:
            raise Unreadable(self.problems)

    def value(self, key: str, default: str | None = None) -> str | None:
        self.used.add(key)
        entry = self.found.get(key)
        return entry.value if entry is not None and entry.value is not None else default

    def integer(self, key: str, default: int | None, low: int = 1, high: int = 65535) -> int | None:
        text = self.value(key)
        if text is None or text.strip() == "":
            return default
        if not re.fullmatch(r"[0-9]+", text.strip()) or not low <= int(text) <= high:
            self.add(key, f"{_shown(text)} is not a whole number from {low} to {high}", "write a number such as 587")
            return default
        return int(text)

    def host(self, key: str, default: str) -> str:
        from smtpwizard.core.errors import FieldError
        from smtpwizard.core.settings import validate_hostname

        text = self.value(key)
        if text is None or not text.strip():
            return default
        try:
            return validate_hostname(text, key)
        except FieldError as exc:
            self.add(key, exc.problem, exc.fix)
            return default

    def address(self, key: str, fallback: str) -> Sender:
        """The sender (``Name <addr>`` or a bare address); the app's fallback when absent."""
        text = self.value(key)
        sender = sender_of(text, fallback)
        if text and sender.address == fallback and fallback not in text:
            self.add(
                key, f"{_shown(text)} is not an email address", "write name@example.com or Name <name@example.com>"
            )
        return sender

    def boolean(self, key: str, default: bool, true: tuple[str, ...], false: tuple[str, ...]) -> bool:
        """A flag as the app reads it; a spelling the app does not know is a problem, never a guess."""
        text = self.value(key)
        if text is None:
            return default
        if text.strip().lower() in true:
            return True
        if text.strip().lower() in false:
            return False
        self.add(key, f"{_shown(text)} is not a value the app reads as on or off", f"write {true[0]} or {false[0]}")
        return default

    def choice(self, key: str, default: str | None, allowed: tuple[str, ...]) -> str | None:
        text = self.value(key)
        if text is None or text == "":
            return default
        if text not in allowed:
            self.add(key, f"{_shown(text)} is not one of the values the app knows", "use one of: " + ", ".join(allowed))
            return default
        return text


def _shown(text: str) -> str:
    """A value echoed in a problem line: short and printable (never used for a password)."""
    printable = "".join(ch if ch.isprintable() else "?" for ch in text)
    return repr(printable if len(printable) <= 40 else printable[:37] + "...")


def env_file(
    path: Path, flavour: DotenvFlavour, environ: Mapping[str, str] | None = None
) -> tuple[dict[str, Found], Collector]:
    """A .env file read as the app's dotenv reader reads it (or a docker-compose.yml's
    ``environment:``, as compose passes it), and a collector for its problems."""
    if is_compose_file(path):
        found = environment_file(path)
        return found, Collector(path, found)
    found = read_dotenv(read_text(path), path, flavour, environ)
    return found, Collector(path, found)


def is_compose_file(path: Path) -> bool:
    return path.suffix in (".yml", ".yaml")


def read_text(path: Path) -> str:
    """The file as text; InputMissing when it is not there or not readable."""
    path = path.expanduser()
    try:
        data = path.read_bytes()[: MAX_FILE_BYTES + 1]
    except FileNotFoundError:
        raise InputMissing(f"{path}: no such file; give the path of the app's settings file") from None
    except OSError as exc:
        raise InputMissing(f"{path}: cannot read it ({exc.strerror}); run as a user who may read it") from None
    if len(data) > MAX_FILE_BYTES:
        raise Unreadable([f"{path}: larger than {MAX_FILE_BYTES // 1024 // 1024} MB; is this the app's settings file?"])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise Unreadable([f"{path}:{line}: not UTF-8 text; save the file as UTF-8"]) from None


# --- .env files -----------------------------------------------------------------------------

# How the app's dotenv reader treats a value (each app module names its reader and source).
#  compose: compose-spec/compose-go dotenv/parser.go - $VAR and ${VAR} expand unquoted and in
#           double quotes, never in single quotes; \ escapes only in double quotes.
#  ruby:    bkeepers/dotenv lib/dotenv/parser.rb + substitutions/variable.rb - the same rules.
#  python:  theskumar/python-dotenv src/dotenv/parser.py + main.py - only ${VAR} expands, in
#           every kind of value (single quotes too); \ escapes in double quotes.
DotenvFlavour = Literal["compose", "ruby", "python"]

_LINE = re.compile(r"^\s*(?:export\s+)?(?P<key>[A-Za-z_][A-Za-z0-9_.]*)\s*=\s*(?P<rest>.*)$")
_DOUBLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "$": "$"}


def _expand(text: str, flavour: DotenvFlavour, known: Mapping[str, str]) -> str:
    pattern = r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}"
    if flavour != "python":
        pattern += r"|\$([A-Za-z_][A-Za-z0-9_]*)"

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        return known.get(name, match.group(2) or "")

    return re.sub(pattern, replace, text)


def _unescape_double(body: str) -> str:
    return re.sub(r"\\(.)", lambda m: _DOUBLE_ESCAPES.get(m.group(1), "\\" + m.group(1)), body)


def _closing_quote(text: str, quote: str) -> int:
    i = 0
    while i < len(text):
        if text[i] == "\\" and quote == '"':
            i += 2
            continue
        if text[i] == quote:
            return i
        i += 1
    return -1


def read_dotenv(
    text: str, path: Path, flavour: DotenvFlavour, environ: Mapping[str, str] | None = None
) -> dict[str, Found]:
    """Every assignment of a .env file as the app's reader yields it; the last one of a key wins
    (as in every reader). Raises Unreadable for a quote that is never closed."""
    found: dict[str, Found] = {}
    known: dict[str, str] = dict(environ or {})
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        line = lines[number]
        number += 1
        match = _LINE.match(line)
        if not match or line.lstrip().startswith("#"):
            continue
        key, rest, first = match["key"], match["rest"], number
        quote = rest[:1] if rest[:1] in ("'", '"') else ""
        if quote:
            body = rest[1:]
            end = _closing_quote(body, quote)
            while end < 0 and number < len(lines):  # a multi-line quoted value
                body += "\n" + lines[number]
                number += 1
                end = _closing_quote(body, quote)
            if end < 0:
                raise Unreadable([f"{path}:{first}: {key}: its {quote} quote is never closed; close it"])
            # "As written": the quotes' own escapes applied, nothing expanded.
            written = _unescape_double(body[:end]) if quote == '"' else body[:end]
            if quote == "'" and flavour == "python":
                written = written.replace("\\'", "'").replace("\\\\", "\\")
            value = _expand(written, flavour, known) if quote == '"' or flavour == "python" else written
        else:
            written = rest.strip()
            value = re.split(r"\s#", rest, maxsplit=1)[0].strip()  # ' #' starts a comment
            value = _expand(value, flavour, known)
        known[key] = value
        found[key] = Found(key, value, first, written if written != value else None)
    return found


class EnvironmentFile(dict[str, str]):
    """The environment an app gets, read from a file (``--env-file``): values by name, and where each is."""

    def __init__(self, found: dict[str, Found]) -> None:
        super().__init__({key: entry.value or "" for key, entry in found.items()})
        self.found = found


def environment_file(path: Path) -> dict[str, Found]:
    """Variables an app's container gets from a compose file (every service's ``environment:``,
    mapping or KEY=VALUE list, as compose-spec reads it) or a .env file, with their lines."""
    import yaml

    text = read_text(path)
    if path.suffix in (".yml", ".yaml"):
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            raise Unreadable([f"{path}:{mark.line + 1 if mark else 0}: not valid YAML; fix that line"]) from None
        found: dict[str, Found] = {}
        services = _child(root, "services")
        for _name, service in services.value if isinstance(services, yaml.MappingNode) else ():
            environment = _child(service, "environment")
            if isinstance(environment, yaml.MappingNode):
                for key, value in environment.value:
                    found[key.value] = Found(key.value, str(value.value), value.start_mark.line + 1)
            elif isinstance(environment, yaml.SequenceNode):
                for item in environment.value:
                    key, _, value = str(item.value).partition("=")
                    found[key] = Found(key, value, item.start_mark.line + 1)
        # compose interpolates $VAR and ${VAR} in the file itself ($$ is a literal $)
        return {k: _interpolated(v, path) for k, v in found.items()}
    return {k: replace(v, origin=f"{path}:{v.line}") for k, v in read_dotenv(text, path, "compose").items()}


def _interpolated(entry: Found, path: Path) -> Found:
    raw = entry.value or ""
    value = "$".join(_expand(part, "compose", {}) for part in raw.split("$$"))
    return replace(entry, value=value, written=raw if value != raw else None, origin=f"{path}:{entry.line}")


def _child(node: Any, name: str) -> Any:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            if key.value == name:
                return value
    return None


# --- JSON, JSON with comments, INI ------------------------------------------------------------


def strip_json_comments(text: str) -> str:
    """JSON with // and /* */ comments and trailing commas (Sourcegraph's site config allows
    them: sourcegraph/sourcegraph internal/jsonc) as plain JSON; line breaks are kept, so line
    numbers stay right."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(text[i : j + 1])
            i = j + 1
        elif text.startswith("//", i):
            while i < n and text[i] != "\n":
                i += 1
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            out.append("".join(c for c in text[i:end] if c == "\n"))
            i = end
        else:
            out.append(ch)
            i += 1
    return re.sub(r",(\s*[}\]])", r"\1", "".join(out))


def load_json(text: str, path: Path, comments: bool = False) -> Any:
    """The JSON document; Unreadable with the line of the syntax error."""
    try:
        return json.loads(strip_json_comments(text) if comments else text)
    except json.JSONDecodeError as exc:
        raise Unreadable([f"{path}:{exc.lineno}: not valid JSON ({exc.msg}); fix that line"]) from None


def line_of_key(text: str, key: str, last: bool = True) -> int:
    """The line of ``"key":`` in a JSON text (its last occurrence: Go and Python keep the last)."""
    positions = [m.start() for m in re.finditer(r'"' + re.escape(key) + r'"\s*:', text)]
    if not positions:
        return 0
    return text.count("\n", 0, positions[-1] if last else positions[0]) + 1


def json_found(text: str, data: Mapping[str, Any], keys: dict[str, str]) -> dict[str, Found]:
    """Values of ``data`` (paths like ``smtp.host`` -> key name shown) as text, with their lines."""
    found: dict[str, Found] = {}
    for dotted, shown in keys.items():
        node: Any = data
        for part in dotted.split("/"):
            node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            continue
        value = json.dumps(node) if isinstance(node, bool) else str(node)
        found[shown] = Found(shown, value, line_of_key(text, dotted.split("/")[-1]))
    return found


def split_ini_value(raw: str) -> tuple[str, str]:
    """The value after a key's delimiter as go-ini reads it, and the comment that follows it.

    gopkg.in/ini.v1 parser.go readValue, with the options Gitea loads app.ini with (go-gitea/gitea
    modules/setting/config_provider.go: IgnoreContinuation, inline comments on): a value in
    backticks or triple quotes ends at the LAST such quote on the line; otherwise the first ``#``
    or ``;`` starts a comment, and one pair of surrounding single or double quotes is dropped."""
    line = raw.lstrip()
    if not line:
        return "", ""
    quote = '"""' if len(line) > 3 and line.startswith('"""') else "`" if line[0] == "`" else ""
    if quote:
        end = line.rfind(quote, len(quote))
        if end >= 0:
            rest = line[end + len(quote) :]
            return line[len(quote) : end], rest if rest.strip() else ""
        return line[len(quote) :].rstrip(), ""  # a multi-line value: go-ini reads on; we keep its first line
    line = line.strip()
    cut = min((i for i in (line.find("#"), line.find(";")) if i >= 0), default=-1)
    comment = ""
    if cut >= 0:
        value_part = line[:cut]
        comment = raw[len(raw) - len(raw.lstrip()) + len(value_part.rstrip()) :].rstrip()
        line = value_part.strip()
    for mark in ("'", '"'):
        if len(line) >= 2 and line[0] == mark and line[-1] == mark and line[1:].find(mark) == len(line) - 2:
            return line[1:-1], comment
    return line, comment


def split_ini_line(line: str) -> tuple[str, str] | None:
    """An INI line's key and what follows its delimiter (go-ini: the first ``=`` or ``:``)."""
    delimiter = min((i for i in (line.find("="), line.find(":")) if i >= 0), default=-1)
    return None if delimiter < 0 else (line[:delimiter].strip(), line[delimiter + 1 :])


def read_ini_section(text: str, section: str) -> dict[str, Found]:
    """One section of an INI file as go-ini reads Gitea's app.ini: ``;`` and ``#`` comments, ``=``
    or ``:`` between key and value, the last of a key wins (values: :func:`split_ini_value`)."""
    found: dict[str, Found] = {}
    current = None
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped[0] in ";#":
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped[1:-1].strip()
            continue
        pair = split_ini_line(stripped)
        if current != section or pair is None:
            continue
        found[pair[0]] = Found(pair[0], split_ini_value(pair[1])[0], number)
    return found


# --- gitlab.rb ------------------------------------------------------------------------------

_RUBY_ASSIGN = re.compile(r"^\s*gitlab_rails\[['\"](?P<key>[a-z_]+)['\"]\]\s*=\s*(?P<value>.*?)\s*$")


def _ruby_literal(text: str) -> tuple[str | None, str]:
    """A Ruby literal as gitlab.rb holds it, and what follows it; None for code we do not evaluate."""
    if text.startswith("'"):
        match = re.match(r"'((?:[^'\\]|\\.)*)'", text)
        if match:
            return re.sub(r"\\([\\'])", r"\1", match.group(1)), text[match.end() :]
        return None, text
    if text.startswith('"'):
        match = re.match(r'"((?:[^"\\]|\\.)*)"', text)
        if match and "#{" not in match.group(1):
            return _unescape_double(match.group(1)), text[match.end() :]
        return None, text
    match = re.match(r"(true|false|nil|-?[0-9]+)\b", text)
    if match:
        return match.group(1), text[match.end() :]
    return None, text


def read_gitlab_rb(text: str, path: Path, prefixes: tuple[str, ...]) -> dict[str, Found]:
    """The ``gitlab_rails['key'] = literal`` assignments whose key starts with one of ``prefixes``
    (omnibus evaluates gitlab.rb as Ruby: the last assignment wins; commented lines do nothing)."""
    found: dict[str, Found] = {}
    problems: list[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        match = _RUBY_ASSIGN.match(line)
        if not match or not match["key"].startswith(prefixes):
            continue
        value, rest = _ruby_literal(match["value"])
        if value is None or (rest.strip() and not rest.strip().startswith("#")):
            problems.append(
                f"{path}:{number}: {match['key']}: is Ruby code smtpwizard does not evaluate; "
                "write a plain 'quoted' value, true, false or a number"
            )
            continue
        found[match["key"]] = Found(match["key"], None if value == "nil" else value, number)
    if problems:
        raise Unreadable(problems)
    return found


# --- Discourse app.yml ----------------------------------------------------------------------


def read_yaml_env(text: str, path: Path) -> dict[str, Found]:
    """The ``env:`` mapping of a Discourse container definition, as YAML scalars with their lines."""
    import yaml

    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        raise Unreadable([f"{path}:{line}: not valid YAML ({getattr(exc, 'problem', exc)}); fix that line"]) from None
    env_node = None
    if isinstance(root, yaml.MappingNode):
        for key_node, value_node in root.value:
            if key_node.value == "env":
                env_node = value_node
    if not isinstance(env_node, yaml.MappingNode):
        raise Unreadable([f"{path}: has no env: section; is this a Discourse containers/app.yml?"])
    found: dict[str, Found] = {}
    for key_node, value_node in env_node.value:
        if isinstance(value_node, yaml.ScalarNode):
            value = yaml.safe_load(yaml.serialize(value_node))
            text_value = json.dumps(value) if isinstance(value, bool) else ("" if value is None else str(value))
            found[str(key_node.value)] = Found(str(key_node.value), text_value, value_node.start_mark.line + 1)
    return found


# --- turning what was read into the wizard's model --------------------------------------------


def sender_of(text: str | None, fallback: str) -> Sender:
    """``Name <addr>`` or a bare address as the sender; the fallback when absent or unreadable."""
    from email.utils import parseaddr

    name, address = parseaddr(text or "")
    if "@" not in address:
        return Sender(fallback)
    return Sender(address, name or None)


def build(
    *,
    app: str,
    path: Path,
    fmt: str,
    write_kind: WriteKind | None,
    found: dict[str, Found],
    smtp: SmtpSettings,
    sender: Sender,
    fields: dict[str, str],
    credential_key: str | None,
    contradictions: list[Contradiction] | None = None,
    notes: tuple[str, ...] = (),
    export_prefix: str = "",
    login_needs_password: bool = True,  # False: a login without a password means no login (Django)
    symptoms: dict[str, str] | None = None,
) -> Imported:
    """The Imported value: the password as the app sends it kept apart, never in the settings.

    A login over plain text is allowed only for a relay on this machine (as everywhere else)."""
    if write_kind == "env" and is_compose_file(path):
        write_kind = None  # a compose file's environment: the change is shown, not edited
    if not found:  # not one of the app's mail keys: the wrong file, never a file of defaults
        names = ", ".join(key for key in fields.values() if " / " not in key)
        raise Unreadable([f"{path}: holds none of the app's mail settings ({names}); is this the app's settings file?"])
    password = found.get(credential_key) if credential_key else None
    secret = Secret(password.value) if password is not None and password.value else None
    written = Secret(password.written) if password is not None and password.written is not None else None
    smtp = smtp.with_changes(allow_insecure_auth=is_loopback(smtp.host))
    contradictions = list(contradictions or ())
    if secret is None and smtp.wants_auth and login_needs_password and not contradictions:
        user_key = fields.get("username", "the username")
        contradictions.append(
            Contradiction(
                "login_without_password",
                (user_key, credential_key or ""),
                found[user_key].line if user_key in found else 0,
                f"{user_key} is set but {credential_key} is empty or missing: the app will try to log in "
                "without a password, and every message fails",
                f"put the password in {credential_key}, or remove {user_key} for a relay without login",
            )
        )
    if secret is None and smtp.auth != "none":
        smtp = smtp.with_changes(auth="none")
    config = Config(smtp=smtp, sender=sender, target=app)
    if secret is not None:  # a Microsoft password login works today and stops working soon: say so now
        from smtpwizard.core.apps import get_app
        from smtpwizard.core.diagnose import app_basic_auth_note

        retiring = app_basic_auth_note(str(path), smtp.host, smtp.username, get_app(app).profile)
        notes = (*notes, retiring) if retiring else notes
    return Imported(
        app=app,
        path=path,
        fmt=fmt,
        write_kind=write_kind,
        config=config,
        password=secret,
        fields=fields,
        found=found,
        contradictions=tuple(contradictions),
        notes=notes,
        credential_key=credential_key,
        written_password=written,
        export_prefix=export_prefix,
        symptoms=dict(symptoms or {}),
    )


def mangled(found: dict[str, Found], key: str | None, app: str, how: str, fix: str) -> list[Contradiction]:
    """A contradiction when the app's reader turns the password into something else than written."""
    entry = found.get(key) if key else None
    if entry is None or entry.written is None or key is None:
        return []
    return [
        Contradiction(
            "password_mangled",
            (key,),
            entry.line,
            f"{app} will not send the password as written in {key}: {how}",
            fix,
            use_written_password=True,
        )
    ]


def dotenv_mangling(written: str, flavour: DotenvFlavour) -> str:
    """What the app's dotenv reader does to this value, in words (never showing the value)."""
    if flavour == "python" and "${" in written:
        return "python-dotenv replaces ${...} with a variable's value, even in single quotes"
    if "$" in written:
        return "its .env reader replaces $NAME and ${NAME} with a variable's value"
    if " #" in written or "\t#" in written:
        return "its .env reader cuts an unquoted value at ' #' (a comment)"
    if "\\" in written:
        return "its .env reader turns backslash sequences in double quotes into other characters"
    return "its .env reader changes spaces, quotes or escapes in it"


# What the mail libraries print for a failure, so the diagnosis meets the user where they saw it.
# Go crypto/tls conn.go: a plain-text reply to a TLS ClientHello.
GO_NOT_TLS = "tls: first record does not look like a TLS handshake"
# Ruby openssl (SSLSocket#connect) on a port that answers in plain text.
RUBY_NOT_TLS = "SSL_connect returned=1 errno=0 ... wrong version number"


def dotenv_password(found: dict[str, Found], key: str, app: str, flavour: DotenvFlavour) -> list[Contradiction]:
    """A contradiction when the app's dotenv reader changes the password written under ``key``."""
    entry = found.get(key)
    how = dotenv_mangling(entry.written or "", flavour) if entry else ""
    if entry is not None and re.search(r"\.ya?ml:\d+$", entry.origin):  # a compose file's environment:
        how = "docker compose replaces $NAME and ${NAME} in the compose file with a variable's value"
        return mangled(found, key, app, how, f"write each $ in {key} as $$")
    fix = (
        f"python-dotenv expands ${{...}} inside any quotes: change the password in {key} so it holds no ${{"
        if flavour == "python" and "${" in ((entry.written if entry else None) or "")
        else f"write {key} in single quotes, where nothing is replaced"
    )
    return mangled(found, key, app, how, fix)


ReadSettings = Callable[[Path, Mapping[str, str]], Imported]

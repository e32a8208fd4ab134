"""msal as the Microsoft client: chosen by default when installed, seen by the real provider
(msal sends x-client-sku: MSAL.Python), keeping nothing on disk, and replaced by oauth.py's own
client when it is not installed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import pytest

from smtpwizard.core import oauth
from smtpwizard.core.config import parse_document
from smtpwizard.core.secrets import KeyringStore
from smtpwizard.core.settings import Config, Secret
from tests.conftest import MemoryKeyring
from tests.oauth.authserver import ACCOUNT, APP_CLIENT, APP_SECRET, AuthServer, UserAgent
from tests.oauth.conftest import config_doc, require_msal

ROOT = Path(__file__).parents[2]


def _config(doc: dict[str, Any]) -> Config:
    return parse_document(doc, "input").config


def _token_requests(server: AuthServer, since: int) -> list[dict[str, Any]]:
    return [r for r in server.requests()[since:] if r["path"].endswith(("/token", "/devicecode"))]


def _app_doc(server: AuthServer, ca_file: str) -> dict[str, Any]:
    doc = config_doc(server, 587, "noreply@example.test", ca_file, client_id=APP_CLIENT, flow="client_credentials")
    doc["oauth"]["client_secret"] = {"keyring": {"account": "default/oauth/client-secret/app"}}
    return doc


def _app_config(server: AuthServer, ca_file: str) -> Config:
    return _config(_app_doc(server, ca_file))


def test_with_msal_installed_microsoft_sign_ins_go_through_msal_and_others_do_not(
    auth_server: AuthServer, ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_msal()
    monkeypatch.delenv(oauth.BACKEND_ENV, raising=False)
    config = _app_config(auth_server, ca_file)
    assert config.oauth is not None
    before = len(auth_server.requests())
    tokens = oauth.client_credentials(config.oauth, Secret(APP_SECRET))
    assert auth_server.introspect(tokens.access_token.reveal())["client_id"] == APP_CLIENT
    assert [r["sku"] for r in _token_requests(auth_server, before)] == ["MSAL.Python"]

    # the same server as a generic OAuth provider: oauth.py's own client, never msal
    generic = {
        "provider": "generic",
        "client_id": APP_CLIENT,
        "flow": "client_credentials",
        "token_url": auth_server.endpoint("token"),
        "scopes": ["smtp.send"],
        "ca_file": auth_server.ca_file,
        "client_secret": {"keyring": {"account": "default/oauth/client-secret/app"}},
    }
    doc = config_doc(auth_server, 587, "noreply@example.test", ca_file) | {"oauth": generic}
    settings = _config(doc).oauth
    assert settings is not None
    before = len(auth_server.requests())
    oauth.client_credentials(settings, Secret(APP_SECRET))
    assert [r["sku"] for r in _token_requests(auth_server, before)] == [None]


def test_msal_writes_nothing_to_disk_the_refresh_token_stays_in_the_keyring(
    auth_server: AuthServer,
    ca_file: str,
    app_certificate: tuple[str, Any],
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    require_msal()
    monkeypatch.setenv(oauth.BACKEND_ENV, "msal")
    home = tmp_path / "home"
    for name, sub in (("HOME", ""), ("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache")):
        monkeypatch.setenv(name, str(home / sub))
    for name, sub in (("XDG_DATA_HOME", ".local/share"), ("XDG_STATE_HOME", ".local/state"), ("TMPDIR", "tmp")):
        monkeypatch.setenv(name, str(home / sub))
    (home / "tmp").mkdir(parents=True)
    monkeypatch.setattr(tempfile, "tempdir", str(home / "tmp"))
    monkeypatch.chdir(home)
    store = KeyringStore()
    before = len(auth_server.requests())

    # every flow: auth code sign-in, refresh with rotation, device code, client credentials (secret, certificate)
    config = _config(config_doc(auth_server, 587, ACCOUNT, ca_file))
    assert config.oauth is not None
    session = oauth.AuthCodeSession(config.oauth, login_hint=ACCOUNT)
    redirect = UserAgent(auth_server).sign_in(session.start())
    threading.Thread(target=UserAgent(auth_server).follow_redirect, args=(redirect,), daemon=True).start()
    first = session.wait(10).refresh_token
    assert first is not None
    oauth.store_refresh_token(store, oauth.refresh_token_ref(config), first)
    oauth.access_token(config, store)
    device_config = _config(config_doc(auth_server, 587, ACCOUNT, ca_file, flow="device_code"))
    assert device_config.oauth is not None
    device = oauth.start_device(device_config.oauth)
    oauth.poll_device(
        device_config.oauth,
        device,
        sleep=lambda _s: UserAgent(auth_server).enter_user_code(device.verification_uri, device.user_code),
    )
    app = _app_config(auth_server, ca_file)
    assert app.oauth is not None
    oauth.client_credentials(app.oauth, Secret(APP_SECRET))
    doc = config_doc(
        auth_server, 587, "noreply@example.test", ca_file, client_id="smtpwizard-cert", flow="client_credentials"
    )
    doc["oauth"]["certificate"] = app_certificate[0]
    cert_config = _config(doc)
    assert cert_config.oauth is not None
    oauth.client_credentials(cert_config.oauth, None)

    assert {r["sku"] for r in _token_requests(auth_server, before)} == {"MSAL.Python"}
    assert sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file()) == []
    rotated = store.get(oauth.refresh_token_ref(config))
    assert rotated is not None and rotated != first  # the rotated token went to the keyring, and only there


def test_with_msal_a_wrong_tenant_ends_the_browser_sign_in_at_once_with_the_diagnosis(
    auth_server: AuthServer, ca_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    require_msal()
    monkeypatch.setenv(oauth.BACKEND_ENV, "msal")
    doc = config_doc(auth_server, 587, ACCOUNT, ca_file)
    doc["oauth"]["tenant"] = "fabrikam-typo"
    config = _config(doc)
    assert config.oauth is not None
    session = oauth.AuthCodeSession(config.oauth, login_hint=ACCOUNT)
    url = session.start()  # as without msal, starting never fails: the screen that calls it draws the URL
    assert url.startswith(f"{auth_server.authority}/fabrikam-typo/")
    with pytest.raises(oauth.OAuthError) as failed:
        session.wait(10)  # msal's discovery already had Entra's answer: no wait for a browser
    assert failed.value.kind == "oauth_wrong_tenant" and "AADSTS90002" in str(failed.value)
    again = oauth.AuthCodeSession(config.oauth, login_hint=ACCOUNT)
    again.start()
    with pytest.raises(oauth.OAuthError, match="AADSTS90002"):
        again.complete("http://127.0.0.1:1/?code=x&state=y")


BLOCK_MSAL = """
import json, sys

class NoMsal:  # as if the oauth extra were not installed
    def find_spec(self, name, path=None, target=None):
        if name == "msal" or name.startswith("msal."):
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, NoMsal())
from smtpwizard.core import oauth
from smtpwizard.core.config import parse_document
from smtpwizard.core.settings import Secret

config = parse_document(json.loads(sys.argv[1]), "input").config
try:
    tokens = oauth.client_credentials(config.oauth, Secret(sys.stdin.read()))
except oauth.OAuthError as exc:
    print(json.dumps({"kind": exc.kind, "error": str(exc)}))
else:
    print(json.dumps({"identity": tokens.identity, "msal": "msal" in sys.modules}))
"""


def test_without_msal_microsoft_falls_back_to_the_standard_library_client(
    auth_server: AuthServer, ca_file: str
) -> None:
    doc = _app_doc(auth_server, ca_file)
    env = {k: v for k, v in os.environ.items() if k != oauth.BACKEND_ENV} | {"PYTHONPATH": str(ROOT)}
    before = len(auth_server.requests())

    def run(extra: dict[str, str]) -> dict[str, Any]:
        done = subprocess.run(
            [sys.executable, "-c", BLOCK_MSAL, json.dumps(doc)],
            input=APP_SECRET,  # never in argv
            env=env | extra,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert APP_SECRET not in done.stdout + done.stderr
        answer: dict[str, Any] = json.loads(done.stdout)
        return answer

    assert run({}) == {"identity": f"app {APP_CLIENT}", "msal": False}
    assert [r["sku"] for r in _token_requests(auth_server, before)] == [None]
    required = run({oauth.BACKEND_ENV: "msal"})
    assert required["kind"] == "oauth_error" and "msal is not installed" in required["error"]
    assert "pip install 'smtpwizard[oauth]'" in required["error"]

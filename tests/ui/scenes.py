"""The wizard at each step, pre-filled as a user would have left it. Shared by the snapshot
tests and scripts/make_screenshots.py, so pictures and tests show the same app."""

from __future__ import annotations

from pathlib import Path

from textual.pilot import Pilot

from smtpwizard.core.answers import WizardAnswers
from smtpwizard.core.probe import ProbeOptions
from smtpwizard.core.secrets import KeyringStore
from smtpwizard.core.settings import Secret, SecretRef
from smtpwizard.ui.app import WizardApp
from smtpwizard.ui.steps import STEPS

STEP_INDEX = {step.STEP: i for i, step in enumerate(STEPS)}
FAST = ProbeOptions(connect_timeout_s=1.0, banner_timeout_s=1.0)


def answers_for(port: int, ca_file: str, password: str, *, security: str = "starttls") -> WizardAnswers:
    return WizardAnswers(
        target="mastodon",
        provider="custom",
        host="127.0.0.1",
        port=str(port),
        security=security,
        ca_file=ca_file,
        username="wizard@example.com",
        password=Secret(password),
        sender_address="notifications@example.com",
        sender_name="Mastodon",
        test_to="admin@example.com",
        acknowledged=True,
    )


def wizard_at(step: str, answers: WizardAnswers, config_path: Path, *, stable: bool = True) -> WizardApp:
    """The app opened at ``step`` with ``answers`` (the keyring is whatever keyring is set)."""
    return WizardApp(
        config_path=config_path,
        store=KeyringStore(),
        answers=answers,
        start_step=STEP_INDEX[step],
        probe_options=FAST,
        stable=stable,
    )


def step(app: WizardApp) -> str:
    """The step the user is on (or the screen's class name off the steps: finish, dialogs)."""
    return getattr(app.screen, "STEP", type(app.screen).__name__)


async def settle(app: WizardApp, pilot: Pilot[int]) -> None:
    """Wait for the screen's background work (test, keyring, write) and the redraw after it."""
    await app.workers.wait_for_complete()
    await pilot.pause()


def oauth_answers_for(
    port: int, ca_file: str, *, provider: str = "microsoft365", flow: str = "auth_code", signed_in: bool = False
) -> WizardAnswers:
    """A Microsoft 365 (or Gmail, Outlook.com) mailbox signing in with OAuth2, as left on the Login step."""
    answers = WizardAnswers()
    answers.choose_provider(provider)
    answers.host, answers.port, answers.ca_file = "127.0.0.1", str(port), ca_file
    answers.username = "wizard@example.com"
    answers.oauth.flow = flow  # type: ignore[assignment]
    answers.oauth.client_id = "11111111-2222-3333-4444-555555555555"
    if provider == "microsoft365":
        answers.oauth.tenant = "contoso.onmicrosoft.com"
    if signed_in:
        answers.record_sign_in("wizard@example.com", SIGN_IN_REF)
    answers.sender_address = "wizard@example.com"
    answers.acknowledged = True
    return answers


SIGN_IN_REF = SecretRef(
    "smtpwizard", "default/oauth/refresh-token/11111111-2222-3333-4444-555555555555/wizard@example.com"
)

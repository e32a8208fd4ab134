"""What changing mail settings does, per target app and per provider.

The one home of these warnings: the TUI's consequences step and the headless apply both
show them, and the user acknowledges them (``--yes`` headless) before anything is written.
Each app's own consequences live in its module (``core/apps/<app>.py``); this module keeps
the provider ones and the ones that always apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from smtpwizard.core.settings import OAuthSettings

Severity = Literal["danger", "warning", "info"]
SEVERITY_ORDER: dict[Severity, int] = {"danger": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Consequence:
    id: str
    severity: Severity
    who: str  # who is affected, in the user's words
    what: str  # what happens
    action: str  # what to do before applying

    def to_dict(self) -> dict[str, str]:
        return {"id": self.id, "severity": self.severity, "who": self.who, "what": self.what, "action": self.action}


ALWAYS: tuple[Consequence, ...] = (
    Consequence(
        "provider_lockout",
        "warning",
        "the mail account",
        "Providers lock or throttle accounts after repeated failed logins; an app retrying with a wrong password "
        "can trigger it within minutes.",
        "Let the live test pass here before you put the settings into the app. smtpwizard logs in once per test and never retries by itself.",
    ),
    Consequence(
        "spf_dkim",
        "info",
        "everyone receiving mail from the app",
        "Mail from a domain without SPF and DKIM records for this provider lands in spam or is rejected.",
        "Add the provider's SPF and DKIM records to the From domain's DNS.",
    ),
)

BY_PROVIDER: dict[str, tuple[Consequence, ...]] = {
    "microsoft365": (
        Consequence(
            "m365_smtp_auth",
            "warning",
            "the Microsoft 365 mailbox",
            "SMTP AUTH is disabled by default and is enabled per mailbox; Security Defaults turn it off. Microsoft is "
            "retiring basic authentication for SMTP AUTH (disabled by default from the end of 2026).",
            "Ask an admin to enable Authenticated SMTP for this mailbox; plan a move to OAuth2 or a relay.",
        ),
    ),
    "gmail": (
        Consequence(
            "gmail_app_password",
            "warning",
            "the Google account",
            "Gmail needs an App Password, which exists only with 2-Step Verification on, and is revoked whenever the account password changes.",
            "Turn on 2-Step Verification, create an App Password, and update it here after any password change.",
        ),
        Consequence(
            "gmail_limits",
            "info",
            "the app's users",
            "Personal Gmail accounts have low daily sending limits, shared with your own mail.",
            "For anything beyond a handful of users, use a transactional provider.",
        ),
    ),
    "amazon_ses": (
        Consequence(
            "ses_sandbox",
            "warning",
            "everyone the app mails",
            "New SES accounts are in the sandbox: mail only reaches verified addresses, at most 200 a day.",
            "Request production access for this region before going live.",
        ),
    ),
    "postmark": (
        Consequence(
            "postmark_approval",
            "warning",
            "everyone the app mails",
            "Until Postmark approves the account, mail only reaches addresses on your verified domain.",
            "Request approval in Postmark before going live.",
        ),
    ),
    "resend": (
        Consequence(
            "resend_domain",
            "info",
            "everyone the app mails",
            "Without a verified domain, Resend only delivers to your own address.",
            "Verify the From domain in Resend.",
        ),
    ),
    "sendgrid": (
        Consequence(
            "free_tier_caps",
            "info",
            "everyone the app mails",
            "Free tiers cap daily sends; mail beyond the cap is refused until the next day.",
            "Check the plan's daily limit against the app's expected volume.",
        ),
    ),
    "brevo": (
        Consequence(
            "free_tier_caps",
            "info",
            "everyone the app mails",
            "Brevo's free plan caps daily sends; mail beyond the cap is refused until the next day.",
            "Check the plan's daily limit against the app's expected volume.",
        ),
    ),
    "outlook_com": (
        Consequence(
            "outlook_oauth_only",
            "danger",
            "the app's mail",
            "Outlook.com refuses passwords over SMTP (OAuth2 only since September 2024); a password-based setup will fail.",
            "Use a transactional provider instead.",
        ),
    ),
}


# OAuth (XOAUTH2): token lifetimes and sign-in policies (shared/reference/modern-auth.md).
OAUTH_GOOGLE_TESTING = Consequence(
    "oauth_google_testing",
    "warning",
    "the app's mail",
    "A Google OAuth client in 'testing' status gets refresh tokens that expire after 7 days: sending stops a week "
    "after sign-in.",
    "Set the OAuth client's publishing status to 'In production' (https://mail.google.com/ is a restricted scope: "
    "an 'Internal' Workspace client needs no verification), or sign in again with 'smtpwizard login' every week.",
)
OAUTH_MICROSOFT_INACTIVITY = Consequence(
    "oauth_microsoft_inactivity",
    "info",
    "the app's mail",
    "Microsoft refresh tokens expire after 90 days without use and are revoked by a password reset or an admin; "
    "each use returns a new one, which smtpwizard stores in the keyring.",
    "Send (or run 'smtpwizard test') at least every 90 days; after a revocation run 'smtpwizard login' again.",
)
OAUTH_DEVICE_CODE = Consequence(
    "oauth_device_code_blocked",
    "warning",
    "whoever signs in",
    "Many tenants block the device code flow through Conditional Access (Microsoft-managed policies since "
    "February 2025 block it where it has not been used recently).",
    "Prefer flow: auth_code (a browser on a loopback redirect, or paste the redirect URL over SSH).",
)
OAUTH_SECRET_EXPIRY = Consequence(
    "oauth_client_secret_expiry",
    "warning",
    "the app's mail",
    "An Entra client secret expires (after 24 months at most); app-only sending stops on that day.",
    "Note the secret's expiry date; before it, create a new secret and run 'smtpwizard login' to store it "
    "(or use a certificate: oauth.certificate).",
)


BRIDGE = (
    Consequence(
        "bridge_service",
        "warning",
        "the app's mail",
        "The app now sends through emailproxy on this machine: one more service to keep running; when it stops, "
        "mail stops.",
        "Start it with the systemd unit (or the compose service) smtpwizard wrote, and watch it like the app.",
    ),
    Consequence(
        "bridge_local_port",
        "warning",
        "everyone who can reach the local port",
        "Whoever can connect to the bridge's port and knows the local password sends mail as the mailbox; the "
        "refresh token sits, encrypted with that password, in emailproxy's config file.",
        "Keep the port on 127.0.0.1 (or a private container network), the config file 0600, and the local "
        "password only in the app's settings.",
    ),
    Consequence(
        "bridge_token_handover",
        "info",
        "smtpwizard's own sign-in",
        "The refresh token moves to emailproxy (it rotates on use): smtpwizard no longer keeps one for this mailbox.",
        "To test the provider directly again, run 'smtpwizard login'; test the app's path with the config written "
        "for the bridge.",
    ),
)


# Provider warnings about passwords, which an OAuth2 (XOAUTH2) config does not send.
PASSWORD_ONLY = frozenset({"gmail_app_password", "outlook_oauth_only"})


def app_without_xoauth2(app: str, library: str, command: str) -> Consequence:
    """An app whose mail client sends only a password: the sign-in goes to the bridge."""
    return Consequence(
        "app_without_xoauth2",
        "warning",
        f"{app}'s mail",
        f"{app} cannot send with OAuth2: its mail library ({library}) sends only a password. smtpwizard tests and "
        f"writes this sign-in for a local bridge (emailproxy), which {app} then sends through.",
        f"After writing, run: {command}  and give {app} the settings it writes (app.yaml).",
    )


def oauth_consequences(oauth: OAuthSettings | None) -> list[Consequence]:
    if oauth is None:
        return []
    if oauth.provider == "google":
        return [OAUTH_GOOGLE_TESTING]
    if oauth.provider != "microsoft":
        return []
    if oauth.flow == "client_credentials":
        return [OAUTH_SECRET_EXPIRY] if oauth.certificate is None else []
    return [OAUTH_MICROSOFT_INACTIVITY] + ([OAUTH_DEVICE_CODE] if oauth.flow == "device_code" else [])


def consequences_for(target: str | None, provider: str | None, oauth: OAuthSettings | None = None) -> list[Consequence]:
    """The consequences of applying mail settings for this app and provider, gravest first."""
    from smtpwizard.core.apps import find_app  # the apps import Consequence from here

    app = find_app(target)
    by_provider = [c for c in BY_PROVIDER.get(provider or "", ()) if oauth is None or c.id not in PASSWORD_ONLY]
    found = list(app.consequences if app else ()) + by_provider + list(ALWAYS)
    found += oauth_consequences(oauth)
    return sorted(found, key=lambda c: SEVERITY_ORDER[c.severity])

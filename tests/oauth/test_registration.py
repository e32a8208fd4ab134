"""What the sign-in screen tells the user to register follows the tenant and the flow: personal
Microsoft accounts, a work tenant, app-only sending (with Exchange's own grant), Google."""

from __future__ import annotations

from smtpwizard.core.oauth import registration_steps
from smtpwizard.core.settings import OAuthSettings


def test_outlook_com_registers_for_personal_accounts_without_the_exchange_admin_step() -> None:
    steps = " ".join(registration_steps(OAuthSettings(provider="microsoft", client_id="c", tenant="consumers")))
    assert "'Personal Microsoft accounts only'" in steps
    assert "single tenant" not in steps and "Set-CASMailbox" not in steps
    assert "SMTP.Send" in steps and "http://127.0.0.1" in steps


def test_a_work_tenant_registers_single_tenant_and_enables_authenticated_smtp() -> None:
    oauth = OAuthSettings(provider="microsoft", client_id="c", tenant="contoso.onmicrosoft.com")
    steps = " ".join(registration_steps(oauth))
    assert "(single tenant)" in steps and "Set-CASMailbox -SmtpClientAuthenticationDisabled $false" in steps
    assert "Allow public client flows" not in steps  # only the device code needs it
    device = " ".join(registration_steps(OAuthSettings(provider="microsoft", client_id="c", flow="device_code")))
    assert "Allow public client flows" in device and "'Accounts in any organizational directory'" in device


def test_app_only_sending_names_the_application_permission_and_exchanges_service_principal() -> None:
    oauth = OAuthSettings(provider="microsoft", client_id="c", tenant="contoso.com", flow="client_credentials")
    steps = " ".join(registration_steps(oauth))
    assert "Application > SMTP.SendAsApp" in steps and "Grant admin consent" in steps
    assert "New-ServicePrincipal" in steps and "Add-MailboxPermission" in steps
    assert "redirect URI" not in steps  # no sign-in in a browser for app-only sending


def test_google_names_the_desktop_client_and_the_restricted_scope() -> None:
    steps = " ".join(registration_steps(OAuthSettings(provider="google", client_id="c")))
    assert "Desktop app" in steps and "https://mail.google.com/" in steps and "7 days" in steps

"""The diagnosis catalog: a failed live test becomes plain words and a concrete fix.

This is the one home of every failure message; the TUI and the CLI render the same
:class:`Diagnosis` objects. Where a fix is a settings change, ``settings_change`` holds it
so a front end can offer to apply it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from smtpwizard.core.apps.base import LOCALHOST_NAMES, ClientProfile
from smtpwizard.core.exit_codes import ExitCode
from smtpwizard.core.probe import Failure, ProbeReport, Stage
from smtpwizard.core.providers import Provider, get_provider, provider_for_host
from smtpwizard.core.settings import IMPLICIT_TLS_PORTS, SmtpSettings, is_loopback

# Settings that decide where the password goes: never part of a one-key fix.
CREDENTIAL_ROUTING = frozenset({"host"})

LOCKOUT_NOTE = "smtpwizard tried once and will not retry by itself: repeated failed logins can lock the account."


@dataclass(frozen=True)
class Diagnosis:
    code: str
    title: str
    explanation: str
    fix: str
    exit_code: ExitCode
    settings_change: dict[str, Any] | None = None
    details: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        # A fix is applied with one key and re-tested at once, login included: one that sends
        # the login to another host (a name an attacker could supply) may only be advice.
        if self.settings_change and set(self.settings_change) & CREDENTIAL_ROUTING:
            raise ValueError(f"{self.code}: a fix that moves the login elsewhere must be advice, not a change")

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title": self.title,
            "explanation": self.explanation,
            "fix": self.fix,
            "exit_code": int(self.exit_code),
            "settings_change": self.settings_change,
            "details": list(self.details),
        }

    def change_summary(self) -> str | None:
        """The settings change in words, e.g. 'security: tls, port: 465'."""
        if not self.settings_change:
            return None
        return ", ".join(f"{key}: {value}" for key, value in self.settings_change.items())


@dataclass(frozen=True)
class _Context:
    settings: SmtpSettings
    failure: Failure
    provider: Provider | None
    report: ProbeReport
    profile: ClientProfile | None = None  # the app the test spoke as

    @property
    def where(self) -> str:
        return f"{self.settings.host} port {self.settings.port}"

    @property
    def reply(self) -> str:
        if self.failure.code is not None:
            return f"The server said: {self.failure.code} {self.failure.message}"
        return f"Error: {self.failure.message}"

    def alternative_port(self, security: str, avoid: tuple[int, ...] = ()) -> int | None:
        """A port of the provider (or the common one) that uses ``security``."""
        if self.provider is not None:
            for option in self.provider.ports:
                if option.security == security and option.port != self.settings.port and option.port not in avoid:
                    return option.port
            return None
        default = {"tls": 465, "starttls": 587}.get(security)
        return None if default == self.settings.port or default in avoid else default


def _provider_for(settings: SmtpSettings, provider_id: str | None) -> Provider | None:
    if provider_id and provider_id != "custom":
        try:
            return get_provider(provider_id)
        except KeyError:
            pass
    return provider_for_host(settings.host)


def _dns(c: _Context) -> Diagnosis:
    # Advice only, never a host change: where the login goes is the user's choice.
    if c.provider is not None and c.provider.has_regions:
        fix = _dns_regional_fix(c.settings.host, c.provider)
    elif c.provider is not None and c.provider.default_host and c.provider.default_host != c.settings.host:
        fix = (
            f"Check the spelling of the host name. {c.provider.name}'s server is {c.provider.default_host}: "
            "set host to it if that is what you meant."
        )
    else:
        fix = "Check the spelling of the host name. If it is right, check this machine's DNS (try: getent hosts "
        fix += c.settings.host + ")."
    return Diagnosis(
        "dns",
        "The server's name could not be found",
        f"DNS has no address for {c.settings.host}. {c.reply}",
        fix,
        ExitCode.UNAVAILABLE,
    )


def _dns_regional_fix(host: str, provider: Provider) -> str:
    """Never another region's host: a login of one region (SES SMTP credentials, a Mailgun or
    SparkPost domain) does not work in another, so the region is the user's to choose."""
    keep = f"{provider.name}'s logins only work in the region they were created in"
    known = provider.host_option(host)
    if known is not None:
        return (
            f"{host} is {provider.name}'s server for {known.region}: check this machine's DNS (try: getent hosts "
            f"{host}). Keep the region; {keep}. If your credentials are for another region, choose that region."
        )
    same_region = provider.region_named_in(host)
    if same_region is not None:
        return (
            f"Check the spelling of the host name: {provider.name}'s server for {same_region.region} is "
            f"{same_region.host}; set host to it if that is what you meant."
        )
    return (
        f"Check the region and the spelling of the host name: {provider.name} has one server per region "
        f"(smtpwizard providers --json lists them); {keep}."
    )


def _refused(c: _Context) -> Diagnosis:
    explanation = f"{c.where} answered, but nothing accepts mail on that port."
    fix = "Check the port number."
    change = None
    if is_loopback(c.settings.host):
        fix = (
            "Start the local mail server, or check its port. Inside a container, 127.0.0.1 is the container "
            "itself: use the host's address (e.g. host.docker.internal or the bridge IP) or the relay's service name."
        )
    elif c.provider is not None and c.settings.port != c.provider.recommended_port:
        fix = f"{c.provider.name} listens on port {c.provider.recommended_port} ({c.provider.recommended_security})."
        change = {"port": c.provider.recommended_port, "security": c.provider.recommended_security}
    return Diagnosis("refused", "Connection refused", explanation, fix, ExitCode.UNAVAILABLE, change)


def _connect_timeout(c: _Context) -> Diagnosis:
    port = c.settings.port
    explanation = (
        f"No answer from {c.where}: the connection attempt was silently dropped. "
        "This is what a firewall does. Many hosting providers block outgoing mail ports: "
        "DigitalOcean, AWS, Azure and Google Cloud block or throttle port 25, and Hetzner blocks 25 and 465 on new accounts."
    )
    alternative = c.alternative_port("starttls", avoid=(25, 465))
    change = None
    if alternative is not None:
        fix = f"Try port {alternative} with STARTTLS, which hosting providers rarely block."
        change = {"port": alternative, "security": "starttls"}
        if alternative == 587 and (c.provider is None or c.provider.security_for_port(2525)):
            fix += " If that is blocked too, try 2525."
    else:
        fix = "Ask your hosting provider whether outgoing port " + str(port) + " is blocked, or use another port."
    return Diagnosis(
        "connect_timeout", "The port did not answer (probably blocked)", explanation, fix, ExitCode.UNAVAILABLE, change
    )


def _unreachable(c: _Context) -> Diagnosis:
    return Diagnosis(
        "unreachable",
        "The server cannot be reached from this machine",
        f"The network refused the route to {c.where}. {c.reply}",
        "Check this machine's network connection and firewall, or whether it has IPv6 only for an IPv4 host.",
        ExitCode.UNAVAILABLE,
    )


def _banner_timeout(c: _Context) -> Diagnosis:
    if c.settings.security != "tls":
        implicit = c.settings.port in IMPLICIT_TLS_PORTS or (
            c.provider is not None and c.provider.security_for_port(c.settings.port) == "tls"
        )
        explanation = (
            f"{c.where} accepted the connection but said nothing. A server that expects TLS from the first byte "
            "(implicit TLS, often called SSL) waits silently for a TLS handshake, exactly like this."
        )
        if implicit:
            explanation = (
                f"Port {c.settings.port} expects implicit TLS, but smtpwizard spoke plain text first. " + explanation
            )
        return Diagnosis(
            "banner_timeout",
            "No greeting: this port probably expects implicit TLS",
            explanation,
            "Switch security to tls (implicit TLS) for this port.",
            ExitCode.PROTOCOL,
            {"security": "tls"},
        )
    return Diagnosis(
        "banner_timeout",
        "The server said nothing after connecting",
        f"The TLS connection to {c.where} was made, but no SMTP greeting followed. Some servers delay the greeting "
        "on purpose for unknown clients.",
        "Try again later, or try the provider's other port.",
        ExitCode.TEMP_FAIL,
    )


def _banner_rejected(c: _Context) -> Diagnosis:
    temporary = c.failure.code is not None and 400 <= c.failure.code < 500
    return Diagnosis(
        "banner_rejected",
        "The server refused the connection" + (" for now" if temporary else ""),
        f"{c.reply}. Servers do this when they are overloaded, or when your IP address is on a blocklist "
        "or not allowed to send through them.",
        "Try again later."
        if temporary
        else "Check that this server accepts mail from your IP address (ask its administrator or the provider).",
        ExitCode.TEMP_FAIL if temporary else ExitCode.NO_PERMISSION,
    )


def _tls_wrong_version(c: _Context) -> Diagnosis:
    fix = "Switch security to starttls: this port starts in plain text and upgrades with STARTTLS."
    return Diagnosis(
        "tls_wrong_version",
        "This port does not speak implicit TLS",
        f"smtpwizard started a TLS handshake on {c.where}, but the server answered in plain text "
        '("wrong version number"). Ports such as 587 and 25 start unencrypted and upgrade with STARTTLS.',
        fix,
        ExitCode.PROTOCOL,
        {"security": "starttls"},
    )


def _tls_handshake(c: _Context) -> Diagnosis:
    return Diagnosis(
        "tls_handshake",
        "The TLS handshake failed",
        f"{c.reply}. The server and this machine could not agree on a secure connection; old servers that only "
        "offer TLS 1.0/1.1 or weak ciphers cause this.",
        "Ask the server's administrator to enable TLS 1.2 or newer, or use the provider's other port.",
        ExitCode.PROTOCOL,
    )


def _tls_outdated(c: _Context) -> Diagnosis:
    return Diagnosis(
        "tls_outdated",
        "The server only offers an outdated TLS version",
        f"{c.where} offers only TLS 1.0 or 1.1 ({c.failure.message}). Both were retired in 2021 (RFC 8996) and "
        "this machine refuses them, as current mail clients and the apps you configure do.",
        "Ask the server's administrator to enable TLS 1.2 or newer, or use a provider whose server supports it.",
        ExitCode.PROTOCOL,
    )


def _tls_client_certificate(c: _Context) -> Diagnosis:
    return Diagnosis(
        "tls_client_certificate",
        "The server wants a client certificate",
        f"{c.where} asked this machine to prove who it is with a TLS client certificate and closed the connection "
        f"without one ({c.failure.message}). smtpwizard and the apps it configures log in with a password, not a "
        "client certificate.",
        "Ask the server's administrator for a port that accepts password login (usually 587 or 465), or to stop "
        "requiring client certificates for your server.",
        ExitCode.PROTOCOL,
    )


def _tls_timeout(c: _Context) -> Diagnosis:
    return Diagnosis(
        "tls_timeout",
        "The TLS handshake did not finish",
        f"{c.where} stopped answering during the TLS handshake. A firewall that inspects mail traffic, or a "
        "mismatch between STARTTLS and implicit TLS, can cause this.",
        "Check the security mode for this port (465: tls; 587: starttls), or try again later.",
        ExitCode.TEMP_FAIL,
    )


def _cert_details(c: _Context) -> tuple[str, ...]:
    cert = c.failure.certificate
    if cert is None:
        return ()
    lines = [f"Subject: {cert.subject}", f"Issuer: {cert.issuer}", f"Valid: {cert.not_before} to {cert.not_after}"]
    if cert.sans:
        lines.append("Names on the certificate: " + ", ".join(cert.sans))
    return tuple(lines)


def _cert(c: _Context) -> Diagnosis:
    app_rule = _app_cert(c)
    if app_rule is not None:
        return app_rule
    kind = c.failure.kind
    details = _cert_details(c)
    cert = c.failure.certificate
    change = None
    if kind == "cert_hostname":
        title = "The certificate is for a different name"
        explanation = (
            f"The server's certificate does not name {c.settings.host}. This happens when connecting by IP address "
            "or through an alias (CNAME) of the real host, and when someone on the network intercepts the connection."
        )
        names = [n for n in (cert.sans if cert else ()) if not n.startswith("*")]
        if names:
            # Advice only: the name comes from a server that has not proven who it is.
            fix = (
                f"If {names[0]} is your mail server's real name, set host to it yourself. smtpwizard will not "
                "change the host for you: the name comes from an unproven server, and anyone on the way can "
                "present a valid certificate for their own name."
            )
        else:
            fix = "Connect using the host name the certificate was issued for."
    elif kind == "cert_expired":
        title = "The server's certificate has expired"
        explanation = "The certificate's validity period has ended, so the connection cannot be trusted."
        fix = "Ask the server's administrator to renew the certificate. Also check this machine's clock."
    elif kind == "cert_not_yet_valid":
        title = "The server's certificate is not valid yet"
        explanation = "The certificate's validity starts in the future: usually this machine's clock is wrong."
        fix = "Check this machine's date and time (timedatectl), then test again."
    else:
        self_signed = kind == "cert_self_signed"
        title = "The server's certificate is self-signed" if self_signed else "The server's certificate is not trusted"
        explanation = (
            "The certificate is self-signed"
            if self_signed
            else "The certificate was issued by an authority this machine does not trust"
        ) + ", so smtpwizard cannot tell the real server from an impostor."
        fix = (
            "Get the CA certificate (or the server's own certificate) from the server's administrator and set "
            "ca_file to its path. Only if you fully trust the network, set verify_certificate: false."
        )
        if c.provider is not None and c.provider.id == "proton_bridge":
            fix = "Export Bridge's certificate from its settings and set ca_file to it."
    return Diagnosis(kind, title, explanation + f" ({c.failure.message})", fix, ExitCode.PROTOCOL, change, details)


def _ehlo_rejected(c: _Context) -> Diagnosis:
    return Diagnosis(
        "ehlo_rejected",
        "The server rejected the greeting (EHLO)",
        f"{c.reply}. Some servers, such as Google's relay, require a real host name in EHLO.",
        "Set helo_domain to your server's public host name, e.g. mail.example.com.",
        ExitCode.PROTOCOL,
    )


def _ehlo_unsupported(c: _Context) -> Diagnosis:
    return Diagnosis(
        "ehlo_unsupported",
        "The server only speaks old SMTP (HELO)",
        f"{c.where} did not know EHLO, so smtpwizard greeted it with HELO, which it accepted. A HELO-only server "
        "has no extensions: no STARTTLS, so the connection cannot be encrypted, and no AUTH, so there is no login. "
        f"({c.failure.message}.)",
        "Use the server's submission port (587 with STARTTLS, or 465 with TLS). Only for a relay on this machine "
        "that needs no login: security: none and no username.",
        ExitCode.UNAVAILABLE,
    )


def _starttls_missing(c: _Context) -> Diagnosis:
    alternative = c.alternative_port("tls")
    change: dict[str, Any] | None = None
    if alternative is not None:
        fix = f"Use implicit TLS on port {alternative}."
        change = {"port": alternative, "security": "tls"}
    else:
        fix = "Use the server's implicit-TLS port (usually 465) with security: tls."
    if is_loopback(c.settings.host):
        fix += " For a local relay on this machine without TLS, set security: none."
    return Diagnosis(
        "starttls_missing",
        "The server does not offer STARTTLS",
        f"{c.where} did not list STARTTLS, so the connection could only continue unencrypted. smtpwizard stopped "
        "instead of sending anything in plain text. (A firewall that strips STARTTLS causes the same.)",
        fix,
        ExitCode.UNAVAILABLE,
        change,
    )


def _starttls_refused(c: _Context) -> Diagnosis:
    temporary = c.failure.code is not None and 400 <= c.failure.code < 500
    return Diagnosis(
        "starttls_refused",
        "The server refused to start TLS",
        f"{c.reply}.",
        "Try again later."
        if temporary
        else "Use the server's implicit-TLS port (465, security: tls), or ask its administrator.",
        ExitCode.TEMP_FAIL if temporary else ExitCode.PROTOCOL,
    )


def _insecure_auth(c: _Context) -> Diagnosis:
    return Diagnosis(
        "insecure_auth",
        "Password not sent over an unencrypted connection",
        "The connection is not encrypted, so anyone on the network could read the password.",
        "Use security: starttls or tls. Only for a relay on this machine or a network you control, set allow_insecure_auth: true.",
        ExitCode.CONFIG,
        {"security": "starttls"},
    )


def _auth_missing(c: _Context) -> Diagnosis:
    return Diagnosis(
        "auth_missing",
        "The server does not offer a login",
        f"{c.where} did not list AUTH, so there is no way to send the username and password. Relays that "
        "accept mail by your IP address behave like this.",
        "If this relay accepts mail from your server's IP address, remove the username (auth: none). "
        "Otherwise check you are using the submission port (587 or 465), not port 25.",
        ExitCode.UNAVAILABLE,
        {"auth": "none"},
    )


def _auth_no_common_mechanism(c: _Context) -> Diagnosis:
    offered = c.report.auth_offered
    if any(m in ("XOAUTH2", "OAUTHBEARER") for m in offered) and not any(
        m in ("PLAIN", "LOGIN", "CRAM-MD5") for m in offered
    ):
        return Diagnosis(
            "auth_oauth_only",
            "This server only accepts OAuth2 logins",
            f"{c.where} offers only {', '.join(offered)}: passwords are not accepted at all "
            "(Outlook.com, for example, has refused passwords since September 2024).",
            "Use a transactional provider (e.g. SendGrid, Postmark, Amazon SES) or a provider that still accepts app passwords.",
            ExitCode.UNAVAILABLE,
        )
    change = None
    for mechanism in ("PLAIN", "LOGIN", "CRAM-MD5"):
        if mechanism in offered:
            change = {"auth": "auto"}
            break
    return Diagnosis(
        "auth_no_common_mechanism",
        "No common login method",
        f"The server offers {', '.join(offered)}, but the settings ask for {c.settings.auth.upper()}.",
        "Set auth: auto to let smtpwizard pick the strongest method both sides support.",
        ExitCode.UNAVAILABLE,
        change,
    )


_AUTH_HINTS: dict[str, str] = {
    "gmail": "Google refuses your normal password over SMTP. Turn on 2-Step Verification and use a 16-character App Password.",
    "google_workspace_relay": "Use the full address of a Workspace user and its (App) password, and make sure the relay allows SMTP AUTH.",
    "microsoft365": "If the server said 5.7.139 or 'SmtpClientAuthentication is disabled', an admin must enable Authenticated SMTP for this mailbox (Set-CASMailbox -SmtpClientAuthenticationDisabled $false) or turn off Security Defaults.",
    "outlook_com": "Outlook.com no longer accepts passwords over SMTP; it needs OAuth2.",
    "amazon_ses": "SES needs SMTP credentials from SES > SMTP settings, not your IAM access key and secret. They only work in the region they were created in.",
    "sendgrid": "The username must be the word apikey and the password an API key with Mail Send permission.",
    "postmark": "Use the Server API Token as both username and password (not the Account API token).",
    "sparkpost": "The username must be SMTP_Injection and the password an API key with 'Send via SMTP' permission from the same region.",
    "mailgun": "Use the domain's SMTP login (e.g. postmaster@mg.example.com) and its SMTP password, in the region where the domain lives.",
    "resend": "The username must be resend and the password an API key (re_...).",
    "brevo": "Use the SMTP login and an SMTP key from Settings > SMTP & API; the API key does not work here.",
    "mailjet": "Use the API key as username and the secret key as password.",
    "zoho": "Use the host of your account's data centre; with 2FA on, use an Application-Specific Password.",
    "fastmail": "Fastmail needs an app password; your normal password never works for SMTP.",
    "icloud": "Use an app-specific password from appleid.apple.com; your Apple ID password is refused.",
    "yahoo": "Yahoo needs an app password; your normal password is refused.",
    "proton_bridge": "Use the password Bridge shows, not your Proton password.",
}


def _auth_rejected(c: _Context) -> Diagnosis:
    code = c.failure.code or 0
    message = c.failure.message.lower()
    if (modern := _modern_auth(c)) is not None:  # XOAUTH2 refusals and retired password logins
        return modern
    if code == 530 or ("starttls" in message and code >= 500):
        return Diagnosis(
            "auth_needs_tls",
            "The server wants encryption before login",
            f"{c.reply}.",
            "Switch security to starttls (or tls on port 465).",
            ExitCode.NO_PERMISSION,
            {"security": "starttls"},
        )
    if 400 <= code < 500:
        return Diagnosis(
            "auth_temporary",
            "Login temporarily unavailable",
            f"{c.reply}. The server could not check the password right now.",
            "Try again in a few minutes. " + LOCKOUT_NOTE,
            ExitCode.TEMP_FAIL,
        )
    change: dict[str, Any] | None = None
    provider_id = c.provider.id if c.provider else None
    hint = _AUTH_HINTS.get(
        provider_id or "",
        "Check the username and password; many providers need an app password or an API key instead of your login password.",
    )
    if code == 534 or "application-specific password" in message:
        hint = _AUTH_HINTS["gmail"]
    elif "5.7.139" in message or "smtpclientauthentication" in message:
        hint = _AUTH_HINTS["microsoft365"]
    elif "5.7.30" in message or "basic authentication is not supported" in message:
        hint = "Microsoft has turned off password login (basic authentication) for this tenant; it needs OAuth2 or a relay."
    if c.provider is not None and c.provider.username_default and c.settings.username != c.provider.username_default:
        hint = f"For {c.provider.name} the username must be {c.provider.username_default}. " + hint
        change = {"username": c.provider.username_default}
    return Diagnosis(
        "auth_rejected",
        "The server refused the username or password",
        f"{c.reply}. " + LOCKOUT_NOTE,
        hint,
        ExitCode.NO_PERMISSION,
        change,
    )


_SENDER_HINTS: dict[str, str] = {
    "amazon_ses": "Verify the From address or its domain in SES for this region. In the SES sandbox, the recipient must be verified too; request production access to send to anyone.",
    "sendgrid": "The From address must match a verified Sender Identity or an authenticated domain in SendGrid.",
    "microsoft365": "The From address must be the mailbox you log in with, or one it has Send As rights on.",
    "mailgun": "Send From an address on the Mailgun domain these credentials belong to.",
    "sparkpost": "The From domain must be a verified sending domain in SparkPost.",
    "postmark": "The From address must be a confirmed Sender Signature or on a verified domain in Postmark.",
    "resend": "The From address must be on a domain verified in Resend.",
    "gmail": "Gmail only sends From your own address or an alias configured under 'Send mail as'.",
}


def _envelope(c: _Context) -> Diagnosis:
    code = c.failure.code or 0
    stage = c.failure.stage
    who = {Stage.MAIL: "sender", Stage.RCPT: "recipient", Stage.DATA: "message"}.get(stage, "message")
    if 400 <= code < 500:
        return Diagnosis(
            f"{who}_temporary",
            f"The server deferred the {who} for now",
            f"{c.reply}. A 4xx reply means 'try again later': greylisting, rate limits or a busy server.",
            "Wait a few minutes and test again. If it persists, check the provider's sending limits.",
            ExitCode.TEMP_FAIL,
        )
    if code == 530 or "authentication required" in c.failure.message.lower():
        return Diagnosis(
            "auth_required",
            "The server requires a login",
            f"{c.reply}. This server does not accept mail without logging in.",
            "Set the username and password the provider gave you.",
            ExitCode.NO_PERMISSION,
        )
    provider_id = c.provider.id if c.provider else ""
    if stage == Stage.RCPT:
        title = "The server refused the test recipient"
        fix = "If the server says relaying is denied, log in first (set username and password). " + _SENDER_HINTS.get(
            provider_id, "Check the recipient address for typos."
        )
    elif stage == Stage.MAIL:
        title = "The server refused the sender address"
        fix = _SENDER_HINTS.get(
            provider_id,
            "Use a From address on a domain this account may send for, and make sure the domain is verified with the provider.",
        )
    else:
        title = "The server rejected the test message"
        fix = _SENDER_HINTS.get(
            provider_id, "Check that the From domain is verified with the provider and has SPF and DKIM records."
        )
    return Diagnosis(f"{who}_refused", title, f"{c.reply}.", fix, ExitCode.NO_PERMISSION)


def _smtputf8_missing(c: _Context) -> Diagnosis:
    return Diagnosis(
        "smtputf8_missing",
        "This server cannot take an address with non-ASCII characters before the @",
        f"{c.failure.message}. Such an address needs the SMTPUTF8 extension, which {c.where} does not offer, "
        "so smtpwizard sent nothing. The server did nothing wrong; an international domain after the @ works anywhere.",
        "Use sender.address (and the test recipient) with only ASCII letters, digits and . _ + - before the @.",
        ExitCode.DATA_ERROR,
    )


def _disconnected(c: _Context) -> Diagnosis:
    during = c.failure.stage.label.lower()
    explanation = f"{c.where} closed the connection during {during}."
    if c.failure.stage == Stage.AUTH:
        explanation += (
            " Servers do this after too many failed logins, or when your IP address is blocked. " + LOCKOUT_NOTE
        )
    fix = "Test again in a few minutes; if it repeats, check the provider's dashboard for blocks or limits."
    return Diagnosis("disconnected", "The server hung up", explanation, fix, ExitCode.PROTOCOL)


def _timeout(c: _Context) -> Diagnosis:
    return Diagnosis(
        "timeout",
        "The server stopped answering",
        f"No answer from {c.where} during {c.failure.stage.label.lower()} before the timeout ({c.settings.timeout_s:g} s).",
        "Try again later, or raise timeout_s if this server is known to be slow.",
        ExitCode.TEMP_FAIL,
    )


def _protocol(c: _Context) -> Diagnosis:
    return Diagnosis(
        "protocol",
        "The server did not follow the SMTP protocol",
        f"{c.reply}. The answer from {c.where} was not what an SMTP server sends. Is this port really a mail server?",
        "Check the host and port; ask the server's administrator if they are right.",
        ExitCode.PROTOCOL,
    )


# --- where the app's own mail client fails (the test spoke as the app's ClientProfile) ------

_CERT_WORDS = {"cert_self_signed": "self-signed", "cert_expired": "expired", "cert_hostname": "wrongly named"}


def _app_cert(c: _Context) -> Diagnosis | None:
    """A certificate failure caused by how the app checks certificates, naming the app."""
    profile = c.profile
    if profile is None:
        return None
    app, details = profile.app, _cert_details(c)
    which = _CERT_WORDS.get(c.failure.kind, "untrusted")
    if c.settings.security == "none" and profile.starttls == "whenever-offered":
        return Diagnosis(
            "app_starttls_certificate",
            f"{app} will upgrade to STARTTLS and reject this certificate",
            f"{app} upgrades to STARTTLS whenever the server offers it and will reject this {which} certificate, "
            f"although the settings say security: none. ({c.failure.message})",
            f"Set {profile.verify_switch} (verify_certificate: false), or give the relay a trusted certificate."
            if profile.verify_switch
            else "Give the relay a trusted certificate, or turn STARTTLS off on the relay.",
            ExitCode.PROTOCOL,
            None,
            details,
        )
    if not c.settings.verify_certificate and profile.verify_switch is None:
        return Diagnosis(
            "app_always_verifies",
            f"{app} always checks the certificate",
            f"{app} has no setting to skip certificate checks, so it will reject this {which} certificate although "
            f"verify_certificate is false. ({c.failure.message})",
            "Give the server a trusted certificate, or add its CA to the system store of the machine that runs "
            f"{app} (or point SSL_CERT_FILE at it in {app}'s environment).",
            ExitCode.PROTOCOL,
            None,
            details,
        )
    if c.settings.ca_file and profile.ca_file_setting is None:
        return Diagnosis(
            "app_no_ca_file",
            f"{app} cannot be given this CA file",
            f"{app} has no CA-file setting: it trusts only the system's certificate store, where this {which} "
            f"certificate's issuer is missing. ({c.failure.message})",
            f"Add {c.settings.ca_file} to the system store of the machine that runs {app} (or point SSL_CERT_FILE "
            f"at it in {app}'s environment), or give the server a certificate from a public CA.",
            ExitCode.PROTOCOL,
            None,
            details,
        )
    return None


def _app_no_implicit_tls(c: _Context) -> Diagnosis:
    app = c.profile.app if c.profile else "The app"
    return Diagnosis(
        "app_no_implicit_tls",
        f"{app} has no implicit TLS",
        f"{app} connects in plain text and can only upgrade with STARTTLS, so security: tls (port 465) cannot work "
        "for it. smtpwizard did not connect.",
        "Use port 587 (or 2525) with security: starttls.",
        ExitCode.CONFIG,
        {"security": "starttls", "port": 587},
    )


def _app_charset(c: _Context) -> Diagnosis:
    app, library = (c.profile.app, c.profile.library) if c.profile else ("The app", "its mail library")
    return Diagnosis(
        "app_charset",
        f"{app} cannot send this password",
        f"{app} logs in with {library}, which encodes the login as ASCII: a username or password with any other "
        f"character (é, ü, €, ...) raises UnicodeEncodeError in {app}, so it would never log in. smtpwizard did not "
        "send the login.",
        "Use a password (and username) made of ASCII letters, digits and punctuation only; change it at the provider "
        "and store the new one.",
        ExitCode.CONFIG,
    )


def _app_plaintext_login(c: _Context) -> Diagnosis:
    profile = c.profile
    app = profile.app if profile else "The app"
    if profile is not None and profile.plaintext_login == "localhost-names":
        explanation = (
            f"{app} sends a PLAIN login without encryption only to a server named exactly "
            f"{', '.join(LOCALHOST_NAMES)} (Go's net/smtp); {c.settings.host} is not one of them, so {app} would "
            "fail with 'unencrypted connection'."
        )
        fix = (
            "Give the relay STARTTLS (then use security: starttls), or for a relay on the same machine use the "
            "host name localhost or 127.0.0.1."
        )
    else:
        explanation = (
            f"{app} never sends a login over an unencrypted connection: its mail library refuses with "
            "'unencrypted connection' (Go's net/smtp allows it only to a server named exactly localhost, and "
            f"{app} names the server host:port), so security: none with a login always fails in {app}."
        )
        fix = "Use security: starttls or tls, or remove the login (auth: none) if the relay accepts mail without one."
    return Diagnosis(
        "app_plaintext_login",
        f"{app} will not send the login without encryption",
        explanation + " smtpwizard did not send the login.",
        fix,
        ExitCode.CONFIG,
        {"security": "starttls"},
    )


def _app_no_mechanism(c: _Context) -> Diagnosis:
    profile = c.profile
    app = profile.app if profile else "The app"
    usable = ", ".join(profile.auth_mechanisms) if profile else "its methods"
    offered = ", ".join(c.report.auth_offered) or "nothing"
    explanation = f"The server offers {offered}; {app} can only log in with {usable}"
    if profile is not None and profile.auth_choice == "configured":
        explanation += (
            f" and sends the one named in its {profile.auth_setting} setting whatever the server offers, so the "
            "server would refuse it (504 5.5.4, unrecognised authentication type)"
        )
    return Diagnosis(
        "app_no_mechanism",
        f"{app} cannot log in to this server",
        explanation + ". smtpwizard did not send the login.",
        f"Use a server or port that offers {usable}, or ask the provider to enable one of them.",
        ExitCode.UNAVAILABLE,
    )


# --- modern auth: OAuth2 (XOAUTH2) and the retirement of password logins ----------------------
# Dates and replies: shared/reference/modern-auth.md (Exchange Team Blog 2026-01-27, MS Learn,
# Google Workspace admin help); the ways forward are ranked for the app the config is for.

M365_RETIREMENT = (
    "Microsoft is retiring basic authentication (a password) for SMTP AUTH on smtp.office365.com: from the end of "
    "December 2026 it is disabled by default for existing tenants (an admin can still turn it back on), tenants "
    "created after that do not have it, and the final removal date comes in the second half of 2027 "
    "(Exchange Team Blog, 2026-01-27)."
)
OUTLOOK_COM_RETIREMENT = (
    "Outlook.com and Hotmail accept only OAuth2 over SMTP since 2024-09-16; app passwords do not help."
)
GMAIL_RETIREMENT = (
    "Google ended password sign-in for third-party apps (2022-05-30 for personal accounts; 'less secure apps' are "
    "gone for Workspace too): Gmail takes an App Password (needs 2-Step Verification, revoked when the account "
    "password changes) or OAuth2 (XOAUTH2)."
)
_MICROSOFT_HOSTS = ("smtp.office365.com", "smtp-mail.outlook.com", "outlook.office365.com")


def _is_microsoft(c: _Context) -> bool:
    provider_id = c.provider.id if c.provider else ""
    return provider_id in ("microsoft365", "outlook_com") or c.settings.host in _MICROSOFT_HOSTS


def _is_gmail(c: _Context) -> bool:
    return (c.provider.id if c.provider else "") == "gmail" or c.settings.host == "smtp.gmail.com"


def _app_can_xoauth2(profile: ClientProfile | None) -> bool:
    return profile is None or "XOAUTH2" in profile.auth_mechanisms


def ways_forward(profile: ClientProfile | None, microsoft: bool) -> tuple[str, ...]:
    """What replaces a password login, best first for this app (None: smtpwizard's own client)."""
    app = profile.app if profile else "the app"
    xoauth2 = (
        "OAuth2 (XOAUTH2): set smtp.auth: xoauth2 with an oauth: block, then run 'smtpwizard login' "
        "(README, 'Modern auth')."
    )
    bridge = (
        f"A local bridge: emailproxy (simonrob/email-oauth2-proxy) signs in with OAuth2 and {app} keeps sending a "
        "password to it on this machine; one more service to keep running ('smtpwizard bridge' sets it up after "
        "'smtpwizard login')."
    )
    can_xoauth2 = _app_can_xoauth2(profile)
    options: list[str] = [xoauth2, bridge] if can_xoauth2 else [bridge]
    if microsoft:
        options += [
            "Azure Communication Services Email: a username and password tied to an Entra app, which every app can "
            "send (preset azure_communication_services).",
            "High Volume Email (smtp-hve.office365.com) for mail to your own organisation only; it keeps basic "
            "authentication until September 2028.",
        ]
    options.append("Another provider: a transactional service (run 'smtpwizard providers').")
    ranked = tuple(f"{i}. {text}" for i, text in enumerate(options, 1))
    if profile is not None and not can_xoauth2:
        mechanisms = ", ".join(profile.auth_mechanisms)
        ranked += (f"Not offered: XOAUTH2 in {app} itself; its mail library ({profile.library}) sends {mechanisms}.",)
    return ranked


def _retired_password(c: _Context) -> Diagnosis | None:
    """A password login refused because the provider retired password logins."""
    code = c.failure.code or 0
    message = c.failure.message.lower()
    microsoft = _is_microsoft(c)
    if microsoft and (
        "5.7.139" in message
        or "smtpclientauthentication is disabled" in message
        or "basic authentication is disabled" in message
    ):
        title, what = "Microsoft 365 has turned off password login (SMTP AUTH) here", M365_RETIREMENT
    elif microsoft and ("5.7.30" in message or "basic authentication is not supported" in message):
        title, what = "Microsoft no longer accepts a password for client submission", M365_RETIREMENT
    elif microsoft and code == 535 and "5.7.3" in message.split():
        title = "Microsoft refused the password login"
        what = (
            "535 5.7.3 is Exchange Online's answer to a wrong password, and also to a password login where basic "
            "authentication is off for the tenant or mailbox. " + M365_RETIREMENT
        )
    elif _is_gmail(c) and (code == 534 or "5.7.9" in message.split() or "application-specific password" in message):
        title, what = "Gmail wants an App Password or OAuth2, not the account password", GMAIL_RETIREMENT
    elif _is_gmail(c) and ("5.7.8" in message.split() or "badcredentials" in message):
        title = "Gmail refused the username or password"
        what = "535 5.7.8 BadCredentials: a wrong or revoked App Password, or the account password. " + GMAIL_RETIREMENT
    else:
        return None
    if (c.provider.id if c.provider else "") == "outlook_com" or c.settings.host == "smtp-mail.outlook.com":
        what = OUTLOOK_COM_RETIREMENT
    return Diagnosis(
        "basic_auth_retired",
        title,
        f"{c.reply.rstrip('.')}. {what} " + LOCKOUT_NOTE,
        "Ways forward for " + (c.profile.app if c.profile else "this setup") + ", best first: see below.",
        ExitCode.NO_PERMISSION,
        None,
        ways_forward(c.profile, microsoft),
    )


def _xoauth2_refused(c: _Context) -> Diagnosis:
    """The server refused a valid-looking access token."""
    who = c.report.token_identity
    user = c.settings.username or ""
    if who and "@" in who and who.lower() != user.lower():
        return Diagnosis(
            "xoauth2_wrong_user",
            "The token belongs to another user",
            f"{c.reply}. The access token is for {who}, but smtp.username is {user}.",
            f"Set smtp.username to {who}, or run 'smtpwizard login' again and sign in as {user}.",
            ExitCode.NO_PERMISSION,
            {"username": who},
        )
    causes: list[str] = []
    if _is_microsoft(c):
        causes = [
            "SMTP AUTH is off for the mailbox or tenant: OAuth needs it too "
            "(Set-CASMailbox -Identity <mailbox> -SmtpClientAuthenticationDisabled $false).",
            "Delegated sign-in: the Entra app lacks the SMTP.Send permission (Office 365 Exchange Online), or the "
            "mailbox is not the one signed in.",
            "App-only (client_credentials): SMTP.SendAsApp with admin consent, the Exchange service principal "
            "(New-ServicePrincipal -AppId <client id> -ObjectId <enterprise app object id>) and the mailbox "
            "permission (Add-MailboxPermission, or an App RBAC 'Application SMTP.SendAsApp' role; check with "
            "Test-ServicePrincipalAuthorization). Changes take up to about 90 minutes.",
        ]
    elif _is_gmail(c):
        causes = ["The token lacks the https://mail.google.com/ scope, or smtp.username is not the signed-in account."]
    return Diagnosis(
        "xoauth2_rejected",
        "The server refused the OAuth2 access token",
        f"{c.reply}. smtpwizard got a token"
        + (f" for {who}" if who else "")
        + " but the server did not accept it. "
        + LOCKOUT_NOTE,
        "Check, in this order: " + " ".join(f"({i}) {cause}" for i, cause in enumerate(causes, 1))
        if causes
        else "Check that the token's scopes grant SMTP and that smtp.username is the token's user.",
        ExitCode.NO_PERMISSION,
    )


def _modern_auth(c: _Context) -> Diagnosis | None:
    if c.settings.auth == "xoauth2":
        return _xoauth2_refused(c) if 500 <= (c.failure.code or 0) < 600 else None
    return _retired_password(c)


_LOGIN_AGAIN = "Sign in again: smtpwizard login --config FILE (the config you tested)."
# kind -> (code, title, explanation, fix, exit code); the failure's own text follows the explanation.
_OAUTH_FAILURES: dict[str, tuple[str, str, str, str, ExitCode]] = {
    "oauth_not_signed_in": (
        "oauth_not_signed_in",
        "Not signed in yet",
        "The keyring holds no refresh token (or client secret) for this config.",
        "Run: smtpwizard login --config FILE (once, interactively; client_credentials reads the secret from its source).",
        ExitCode.CONFIG,
    ),
    "oauth_invalid_grant": (
        "oauth_expired",
        "The sign-in expired or was revoked",
        "The authorization server refused the stored refresh token: it was revoked (password change, an admin, "
        "'sign out everywhere'), or it expired (Microsoft: 90 days without use; Google: 7 days while the OAuth "
        "client is in 'testing' status).",
        _LOGIN_AGAIN,
        ExitCode.NO_PERMISSION,
    ),
    "oauth_consent_required": (
        "oauth_consent",
        "Consent is missing",
        "The app registration lacks consent for the SMTP permission (Microsoft: an admin must grant consent "
        "for SMTP.Send, or SMTP.SendAsApp for app-only).",
        "Entra admin center > App registrations > your app > API permissions: add Office 365 Exchange Online "
        "SMTP.Send (delegated) or SMTP.SendAsApp (application), then 'Grant admin consent'. " + _LOGIN_AGAIN,
        ExitCode.NO_PERMISSION,
    ),
    "oauth_scope_missing": (
        "oauth_scope",
        "The token does not allow sending mail",
        "The token was issued without the SMTP scope (Microsoft: SMTP.Send; Google: https://mail.google.com/).",
        "Add the permission to the app registration (Google: to the OAuth consent screen's scopes), consent to it, "
        "then " + _LOGIN_AGAIN[0].lower() + _LOGIN_AGAIN[1:],
        ExitCode.NO_PERMISSION,
    ),
    "oauth_invalid_client": (
        "oauth_client",
        "The authorization server does not accept this app",
        "The client id is wrong, the client secret is wrong or expired (Entra secrets expire after at most 24 "
        "months), the certificate is not uploaded to the app, or the app is not allowed this flow.",
        "Check oauth.client_id; create a new client secret and run 'smtpwizard login --config FILE' to store it.",
        ExitCode.NO_PERMISSION,
    ),
    "oauth_wrong_tenant": (
        "oauth_tenant",
        "The tenant is wrong",
        "The authorization server does not know this tenant, or the app is not registered in it.",
        "Set oauth.tenant to the directory (tenant) id shown on the app registration's Overview page.",
        ExitCode.DATA_ERROR,
    ),
    "oauth_blocked_by_policy": (
        "oauth_blocked",
        "A sign-in policy blocked this",
        "Conditional Access blocked the sign-in; Microsoft-managed policies block the device code flow in tenants "
        "that have not used it recently.",
        "Use flow: auth_code (a browser on a loopback redirect, or paste the redirect URL over SSH), or ask an admin "
        "to exclude this app from the policy.",
        ExitCode.NO_PERMISSION,
    ),
    "oauth_denied": (
        "oauth_denied",
        "The sign-in was declined",
        "The user (or an admin policy) declined the requested permissions.",
        "Run 'smtpwizard login --config FILE' again and accept; if an admin must consent, ask them first.",
        ExitCode.NO_PERMISSION,
    ),
    "oauth_device_expired": (
        "oauth_device_expired",
        "The sign-in code expired",
        "Nobody finished signing in with the code before it expired.",
        "Run 'smtpwizard login --config FILE' again and enter the new code promptly.",
        ExitCode.TEMP_FAIL,
    ),
    "oauth_timeout": (
        "oauth_timeout",
        "No sign-in arrived",
        "The browser never came back to smtpwizard's loopback address.",
        "Run 'smtpwizard login --config FILE' again; on a server over SSH, use --paste and paste the address the "
        "browser ends on.",
        ExitCode.TEMP_FAIL,
    ),
    "oauth_unreachable": (
        "oauth_unreachable",
        "The authorization server could not be reached",
        "The token request did not get through.",
        "Check this machine's network, proxy and DNS for the provider's login host, and oauth.ca_file for a private CA.",
        ExitCode.UNAVAILABLE,
    ),
    "oauth_keyring": (
        "oauth_keyring",
        "The new refresh token could not be stored",
        "The provider rotated the refresh token, and the keyring did not keep the new one; the old one no longer works.",
        "Fix the keyring (unlock it), then " + _LOGIN_AGAIN[0].lower() + _LOGIN_AGAIN[1:],
        ExitCode.CONFIG,
    ),
    "oauth_error": (
        "oauth_error",
        "The authorization server refused the token request",
        "The OAuth request failed.",
        "Check the oauth: block against the app registration; " + _LOGIN_AGAIN[0].lower() + _LOGIN_AGAIN[1:],
        ExitCode.NO_PERMISSION,
    ),
}


def _oauth(c: _Context) -> Diagnosis:
    code, title, explanation, fix, exit_code = _OAUTH_FAILURES[c.failure.kind]
    return Diagnosis(code, title, f"{explanation} ({c.failure.message})", fix, exit_code)


def oauth_diagnosis(kind: str, message: str) -> Diagnosis:
    """The diagnosis of a failed sign-in ('smtpwizard login'), from the same catalog as the live test."""
    code, title, explanation, fix, exit_code = _OAUTH_FAILURES.get(kind, _OAUTH_FAILURES["oauth_error"])
    return Diagnosis(code, title, f"{explanation} ({message})", fix, exit_code)


def _app_no_xoauth2(c: _Context) -> Diagnosis:
    app = c.profile.app if c.profile else "The app"
    return Diagnosis(
        "app_no_xoauth2",
        f"{app} cannot send with OAuth2",
        f"This config logs in with XOAUTH2, but {app}'s mail client sends only a password"
        + (f" ({', '.join(c.profile.auth_mechanisms)})" if c.profile else "")
        + ". smtpwizard did not send anything.",
        f"Ways forward for {app}, best first: see below.",
        ExitCode.UNAVAILABLE,
        None,
        ways_forward(c.profile, _is_microsoft(c)),
    )


def basic_auth_warning(host: str, auth: str, username: str | None) -> str | None:
    """A warning for a config that logs in to Microsoft with a password, before it breaks."""
    if auth == "xoauth2" or auth == "none" or not username:
        return None
    if host == "smtp-mail.outlook.com":
        return f"smtp.auth: {OUTLOOK_COM_RETIREMENT} Use XOAUTH2 (README, 'Modern auth') or another provider."
    if host in ("smtp.office365.com", "outlook.office365.com"):
        return (
            "smtp.auth: this config logs in to Microsoft 365 with a password. " + M365_RETIREMENT + " Move to XOAUTH2, "
            "the emailproxy bridge or Azure Communication Services before then (README, 'Modern auth')."
        )
    return None


def app_basic_auth_note(where: str, host: str, username: str | None, profile: ClientProfile) -> str | None:
    """The doctor's note for an app file that logs in to Microsoft with a password, before it
    breaks: what changes and when, then the ways forward ranked for that app."""
    if not username or host not in _MICROSOFT_HOSTS:
        return None
    outlook = host == "smtp-mail.outlook.com"
    change = OUTLOOK_COM_RETIREMENT if outlook else M365_RETIREMENT
    ways = " ".join(ways_forward(profile, microsoft=not outlook))
    return f"{where}: {profile.app} logs in to {'Outlook.com' if outlook else 'Microsoft 365'} with a password. {change} Ways forward for {profile.app}: {ways}"


_CATALOG: dict[str, Callable[[_Context], Diagnosis]] = {
    "dns": _dns,
    "refused": _refused,
    "connect_timeout": _connect_timeout,
    "unreachable": _unreachable,
    "banner_timeout": _banner_timeout,
    "banner_rejected": _banner_rejected,
    "tls_wrong_version": _tls_wrong_version,
    "tls_handshake": _tls_handshake,
    "tls_timeout": _tls_timeout,
    "tls_outdated": _tls_outdated,
    "tls_client_certificate": _tls_client_certificate,
    "ehlo_unsupported": _ehlo_unsupported,
    "cert_untrusted": _cert,
    "cert_self_signed": _cert,
    "cert_hostname": _cert,
    "cert_expired": _cert,
    "cert_not_yet_valid": _cert,
    "ehlo_rejected": _ehlo_rejected,
    "starttls_missing": _starttls_missing,
    "starttls_refused": _starttls_refused,
    "insecure_auth": _insecure_auth,
    "auth_missing": _auth_missing,
    "auth_no_common_mechanism": _auth_no_common_mechanism,
    "auth_rejected": _auth_rejected,
    "sender_refused": _envelope,
    "recipient_refused": _envelope,
    "data_refused": _envelope,
    "smtputf8_missing": _smtputf8_missing,
    "disconnected": _disconnected,
    "timeout": _timeout,
    "protocol": _protocol,
    "app_no_implicit_tls": _app_no_implicit_tls,
    "app_charset": _app_charset,
    "app_plaintext_login": _app_plaintext_login,
    "app_no_mechanism": _app_no_mechanism,
    "app_no_xoauth2": _app_no_xoauth2,
    **dict.fromkeys(_OAUTH_FAILURES, _oauth),
}


def diagnose(
    report: ProbeReport, settings: SmtpSettings, provider_id: str | None = None, profile: ClientProfile | None = None
) -> Diagnosis | None:
    """The diagnosis of a failed report, or None when the test passed; with ``profile`` (the app
    the test spoke as) a failure the app's own client causes names the app."""
    failure = report.failure
    if failure is None:
        return None
    context = _Context(settings, failure, _provider_for(settings, provider_id), report, profile)
    if failure.code == 421:
        return Diagnosis(
            "service_unavailable",
            "The server is closing the connection for now",
            f"{context.reply}. 421 means the service is temporarily unavailable (busy, rate-limited, or in maintenance).",
            "Try again in a few minutes.",
            ExitCode.TEMP_FAIL,
        )
    return _CATALOG[failure.kind](context)


def apply_change(settings: SmtpSettings, diagnosis: Diagnosis) -> SmtpSettings:
    """The settings with the diagnosis' fix applied (unchanged when it has none)."""
    if not diagnosis.settings_change:
        return settings
    return settings.with_changes(**diagnosis.settings_change)

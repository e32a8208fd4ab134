"""The test zones: a domain set up correctly for each provider preset with DNS facts, broken
variants (each preset also without its DKIM), the providers' own zones their records point to,
and MX/SRV fixtures for provider detection.

Addresses are from the documentation ranges (RFC 5737); DKIM keys are fresh RSA keys.
"""

from __future__ import annotations

import base64
from functools import cache

from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.domain.knot import Record

SES_TOKENS = (
    "a1b2c3d4e5f6g7h8i9j0k1l2m3n4o5p6",
    "q7r8s9t0u1v2w3x4y5z6a7b8c9d0e1f2",
    "g3h4i5j6k7l8m9n0o1p2q3r4s5t6u7v8",
)
POSTMARK_SELECTOR = "20240101120000pm"
# The selectors a user reads off their provider's panel, for presets without a fixed one.
PRESET_SELECTORS = {
    "sparkpost": ("scph0124",),  # SparkPost's scphMMYY
    "smtp2go": ("s123456",),  # SMTP2GO's sNNNNNN
    "mailjet": ("mailjet",),  # also in the preset's try list
    "zoho": ("zmail",),  # also in the preset's try list
}
PROTON_ID = "d1a2b3c4"  # the per-domain part of Proton's DKIM CNAME targets
_PROTON = ("protonmail", "protonmail2", "protonmail3")


@cache
def dkim_key() -> str:
    """A DKIM TXT record holding a real 2048-bit RSA public key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    der = key.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def _mx(host: str = "mx.inbound.test.") -> Record:
    return ("@", "MX", f"10 {host}")


def _dmarc(policy: str = "reject") -> Record:
    return ("_dmarc", "TXT", f"v=DMARC1; p={policy}; rua=mailto:dmarc@inbound.test")


def _sendgrid_dkim() -> list[Record]:
    return [(f"{s}._domainkey", "CNAME", f"{s}.domainkey.u1.wl1.sendgrid.net.") for s in ("s1", "s2")]


def _m365_dkim() -> list[Record]:
    return [
        (f"{s}._domainkey", "CNAME", f"{s}-m365-ok-test._domainkey.m365ok.n-v1.dkim.mail.microsoft.")
        for s in ("selector1", "selector2")
    ]


def _subdomain_sender(name: str, dkim: bool) -> list[Record]:
    """A sending subdomain inside a zone: MX and SPF for SendGrid, and its DKIM records when ``dkim``."""
    records: list[Record] = [(name, "MX", "10 mx.inbound.test."), (name, "TXT", "v=spf1 include:sendgrid.net ~all")]
    if dkim:
        records += [(f"{s}._domainkey.{name}", "CNAME", f"{s}.domainkey.u1.wl1.sendgrid.net.") for s in ("s1", "s2")]
    return records


def provider_zones() -> dict[str, list[Record]]:
    key = dkim_key()
    lookups = [(f"l{i}", "TXT", f"v=spf1 ip4:192.0.2.{i} -all") for i in range(1, 12)]
    return {
        "sendgrid.net": [
            ("@", "TXT", "v=spf1 ip4:192.0.2.0/24 ~all"),
            ("s1.domainkey.u1.wl1", "TXT", key),
            ("s2.domainkey.u1.wl1", "TXT", key),
        ],
        "amazonses.com": [("@", "TXT", "v=spf1 ip4:198.51.100.0/24 -all")]
        + [(f"{t}.dkim", "TXT", key) for t in SES_TOKENS],
        "mailgun.org": [("@", "TXT", "v=spf1 ip4:198.51.100.128/25 ~all"), ("s1.dkim", "TXT", key)],
        "google.com": [("_spf", "TXT", "v=spf1 ip4:203.0.113.0/25 ~all")],
        "outlook.com": [("spf.protection", "TXT", "v=spf1 ip4:203.0.113.128/25 -all")],
        "mail.microsoft": [
            (f"{s}-m365-ok-test._domainkey.m365ok.n-v1.dkim", "TXT", key) for s in ("selector1", "selector2")
        ],
        "messagingengine.com": [("spf", "TXT", "v=spf1 ip4:192.0.2.128/25 ?all")],
        "fmhosted.com": [(f"fm{i}.fastmail-ok.test.dkim", "TXT", key) for i in (1, 2, 3)],
        "mtasv.net": [("spf", "TXT", "v=spf1 ip4:198.51.100.64/26 ~all"), ("pm", "A", "198.51.100.64")],
        "brevo.com": [("spf", "TXT", "v=spf1 ip4:198.51.100.32/27 ~all")],
        "lookups.test": lookups,
        "inbound.test": [("mx", "A", "192.0.2.25")],
        "sparkpostmail.com": [("@", "TXT", "v=spf1 ip4:198.51.100.16/28 ~all")],
        "mandrillapp.com": [("spf", "TXT", "v=spf1 ip4:198.51.100.8/29 ~all")]
        + [(f"dkim{i}", "TXT", key) for i in (1, 2)],
        "mailjet.com": [("spf", "TXT", "v=spf1 ip4:198.51.100.4/30 ~all")],
        "smtp2go.com": [("spf", "TXT", "v=spf1 ip4:203.0.113.192/27 ~all")],
        "smtp2go.net": [("dkim", "TXT", key)],
        "zoho.eu": [("@", "TXT", "v=spf1 ip4:203.0.113.224/28 -all")],
        "icloud.com": [("@", "TXT", "v=spf1 ip4:203.0.113.240/29 ~all")],
        "icloudmailadmin.com": [("sig1.dkim.icloud-ok.test.at", "TXT", key)],
        "protonmail.ch": [("_spf", "TXT", "v=spf1 ip4:192.0.2.224/27 ~all")],
        "proton.ch": [(f"{s}.domainkey.{PROTON_ID}.domains", "TXT", key) for s in _PROTON],
    }


def preset_ok_zones() -> dict[str, list[Record]]:
    """One domain per preset set up as that preset's dns: facts in providers.yaml ask."""
    key = dkim_key()
    return {
        "gmail-ok.test": [
            ("@", "TXT", "v=spf1 include:_spf.google.com ~all"),
            ("google._domainkey", "TXT", key),
            _dmarc(),
            _mx("aspmx.l.google.com."),
        ],
        "sparkpost-ok.test": [
            ("@", "TXT", "v=spf1 include:sparkpostmail.com ~all"),
            ("scph0124._domainkey", "TXT", key),
            _dmarc(),
            _mx(),
        ],
        "mandrill-ok.test": [
            ("@", "TXT", "v=spf1 include:spf.mandrillapp.com ~all"),
            *[(f"mte{i}._domainkey", "CNAME", f"dkim{i}.mandrillapp.com.") for i in (1, 2)],
            _dmarc(),
            _mx(),
        ],
        "mailjet-ok.test": [
            ("@", "TXT", "v=spf1 include:spf.mailjet.com ~all"),
            ("mailjet._domainkey", "TXT", key),
            _dmarc(),
            _mx(),
        ],
        "resend-ok.test": [  # no include at the root: Resend's envelope sender is send.<domain>
            ("@", "TXT", "v=spf1 mx ~all"),
            ("resend._domainkey", "TXT", key.removeprefix("v=DKIM1; k=rsa; ")),  # Resend shows a bare p=
            ("send", "TXT", "v=spf1 include:amazonses.com ~all"),
            ("send", "MX", "10 feedback-smtp.us-east-1.amazonses.com."),
            _dmarc(),
            _mx(),
        ],
        "smtp2go-ok.test": [
            ("@", "TXT", "v=spf1 include:spf.smtp2go.com ~all"),
            ("s123456._domainkey", "CNAME", "dkim.smtp2go.net."),
            _dmarc(),
            _mx(),
        ],
        "zoho-ok.test": [  # an EU data-centre account: include:zoho.eu, mx.zoho.eu
            ("@", "TXT", "v=spf1 include:zoho.eu ~all"),
            ("zmail._domainkey", "TXT", key),
            _dmarc(),
            _mx("mx.zoho.eu."),
        ],
        "icloud-ok.test": [
            ("@", "TXT", "v=spf1 include:icloud.com ~all"),
            ("sig1._domainkey", "CNAME", "sig1.dkim.icloud-ok.test.at.icloudmailadmin.com."),
            _dmarc(),
            _mx("mx01.mail.icloud.com."),
        ],
        "proton-ok.test": [
            ("@", "TXT", "v=spf1 include:_spf.protonmail.ch ~all"),
            *[(f"{s}._domainkey", "CNAME", f"{s}.domainkey.{PROTON_ID}.domains.proton.ch.") for s in _PROTON],
            _dmarc(),
            _mx("mail.protonmail.ch."),
        ],
    }


def preset_zones() -> dict[str, list[Record]]:
    """Each preset's correct domain, and the same domain without its DKIM records (``<x>-nodkim.test``)."""
    zones = preset_ok_zones()
    for name, records in list(zones.items()):
        nodkim = [r for r in records if "_domainkey" not in r[0]]
        zones[name.replace("-ok.", "-nodkim.")] = nodkim
    # Resend without its send.<domain> bounce records
    zones["resend-nosend.test"] = [r for r in zones["resend-ok.test"] if r[0] != "send"]
    return zones


def customer_zones() -> dict[str, list[Record]]:
    key = dkim_key()
    sendgrid_spf = ("@", "TXT", "v=spf1 include:sendgrid.net ~all")
    many = " ".join(f"include:l{i}.lookups.test" for i in range(1, 11))
    return {
        # --- set up correctly, one per provider ---
        "sendgrid-ok.test": [sendgrid_spf, *_sendgrid_dkim(), _dmarc(), _mx()],
        "ses-ok.test": [
            ("@", "TXT", "v=spf1 mx ~all"),  # no include:amazonses.com: SES bounces through its own domain
            *[(f"{t}._domainkey", "CNAME", f"{t}.dkim.amazonses.com.") for t in SES_TOKENS],
            _dmarc("quarantine"),
            _mx(),
        ],
        "google-ok.test": [
            ("@", "TXT", "v=spf1 include:_spf.google.com ~all"),
            ("google._domainkey", "TXT", key),
            _dmarc(),
            _mx("aspmx.l.google.com."),
        ],
        "m365-ok.test": [
            ("@", "TXT", "v=spf1 include:spf.protection.outlook.com -all"),
            *_m365_dkim(),
            _dmarc(),
            _mx("m365-ok-test.mail.protection.outlook.com."),
        ],
        "fastmail-ok.test": [
            ("@", "TXT", "v=spf1 include:spf.messagingengine.com ~all"),
            *[(f"fm{i}._domainkey", "CNAME", f"fm{i}.fastmail-ok.test.dkim.fmhosted.com.") for i in (1, 2, 3)],
            _dmarc("quarantine"),
            _mx("in1-smtp.messagingengine.com."),
        ],
        "postmark-ok.test": [
            ("@", "TXT", "v=spf1 a mx ~all"),
            (f"{POSTMARK_SELECTOR}._domainkey", "TXT", key),
            ("pm-bounces", "CNAME", "pm.mtasv.net."),
            _dmarc("none"),
            _mx(),
        ],
        "brevo-ok.test": [
            ("@", "TXT", "v=spf1 include:spf.brevo.com ~all"),
            ("mail._domainkey", "TXT", key),
            _dmarc(),
            _mx(),
        ],
        "mailgun-ok.test": [
            ("@", "TXT", "v=spf1 include:mailgun.org ~all"),
            ("k1._domainkey", "TXT", key),
            _dmarc(),
            _mx(),
        ],
        # --- broken variants ---
        "no-dkim.test": [sendgrid_spf, _dmarc("none"), _mx()],
        "dkim-other.test": [
            sendgrid_spf,
            *[(f"{s}._domainkey", "CNAME", "s1.dkim.mailgun.org.") for s in ("s1", "s2")],
            _dmarc("none"),
            _mx(),
        ],
        "two-spf.test": [
            ("@", "TXT", "v=spf1 include:_spf.google.com ~all"),
            ("@", "TXT", "v=spf1 include:sendgrid.net -all"),
            ("google._domainkey", "TXT", key),
            _dmarc(),
            _mx("aspmx.l.google.com."),
        ],
        "spf-11.test": [("@", "TXT", f"v=spf1 include:sendgrid.net {many} ~all"), *_sendgrid_dkim(), _dmarc(), _mx()],
        "plus-all.test": [("@", "TXT", "v=spf1 include:sendgrid.net +all"), *_sendgrid_dkim(), _dmarc(), _mx()],
        "dmarc-reject.test": [sendgrid_spf, _dmarc("reject"), _mx()],
        "no-mx.test": [sendgrid_spf, *_sendgrid_dkim(), _dmarc()],
        "implicit-mx.test": [sendgrid_spf, *_sendgrid_dkim(), _dmarc(), ("@", "A", "192.0.2.80")],
        "bad-key.test": [
            ("@", "TXT", "v=spf1 include:_spf.google.com ~all"),
            ("google._domainkey", "TXT", key[:120]),  # cut when pasted
            _dmarc(),
            _mx("aspmx.l.google.com."),
        ],
        "dangling.test": [
            ("@", "TXT", "v=spf1 include:spf.messagingengine.com ~all"),
            *[(f"fm{i}._domainkey", "CNAME", f"fm{i}.dangling.test.dkim.fmhosted.com.") for i in (1, 2, 3)],
            _dmarc(),
            _mx("in1-smtp.messagingengine.com."),
        ],
        "brevo-dangling.test": [  # an in-zone CNAME to nothing: the server answers NXDOMAIN with the CNAME
            ("@", "TXT", "v=spf1 include:spf.brevo.com ~all"),
            ("mail._domainkey", "CNAME", "mail.keys.brevo-dangling.test."),
            _dmarc(),
            _mx(),
        ],
        "redirect.test": [  # Brevo's include reached through a redirect; the redirect's ~all is the record's
            ("@", "TXT", "v=spf1 mx redirect=_spf.redirect.test"),
            ("_spf", "TXT", "v=spf1 include:spf.brevo.com ~all"),
            ("mail._domainkey", "TXT", dkim_key()),
            _dmarc(),
            _mx(),
        ],
        "escape.test": [  # a record carrying terminal escape sequences
            ("@", "TXT", "v=spf1 include:sendgrid.net ~all"),
            *_sendgrid_dkim(),
            ("_dmarc", "TXT-RAW", '"v=DMARC1; p=\\027[2J\\027]0;owned\\007"'),
            _mx(),
        ],
        "void-spf.test": [  # three a/mx terms that find nothing (RFC 7208 4.6.4 allows two)
            (
                "@",
                "TXT",
                "v=spf1 a:old1.void-spf.test a:old2.void-spf.test mx:gone.void-spf.test include:sendgrid.net ~all",
            ),
            ("old2", "TXT", "a name with no address record"),
            *_sendgrid_dkim(),
            _dmarc(),
            _mx(),
        ],
        "void-two.test": [  # two that find nothing: still within the limit
            ("@", "TXT", "v=spf1 a a:old.void-two.test include:sendgrid.net ~all"),
            *_sendgrid_dkim(),
            _dmarc(),
            _mx(),
        ],
        "m365-nospf.test": [
            ("@", "TXT", "v=spf1 mx -all"),
            *_m365_dkim(),
            _dmarc(),
            _mx("m365-ok-test.mail.protection.outlook.com."),
        ],
        "ses-mailfrom.test": [
            ("@", "TXT", "v=spf1 mx ~all"),
            ("good-bounce", "TXT", "v=spf1 include:amazonses.com ~all"),
            ("good-bounce", "MX", "10 feedback-smtp.us-east-1.amazonses.com."),
            ("bad-bounce", "TXT", "v=spf1 mx ~all"),
            ("bad-bounce", "MX", "10 feedback-smtp.us-east-1.amazonses.com."),
            _dmarc("reject"),
            _mx(),
        ],
        # --- a DMARC record without a valid policy: with rua= it counts as p=none, without it is ignored ---
        "rua-only.test": [
            ("@", "TXT", "v=spf1 include:sendgrid.net ~all"),
            *_sendgrid_dkim(),
            ("_dmarc", "TXT", "v=DMARC1; rua=mailto:dmarc@rua-only.test"),
            _mx(),
        ],
        "bad-policy.test": [
            ("@", "TXT", "v=spf1 include:sendgrid.net ~all"),
            *_sendgrid_dkim(),
            ("_dmarc", "TXT", "v=DMARC1; p=rejct"),
            _mx(),
        ],
        # --- DMARC found by the DNS tree walk (RFC 9989) for subdomain senders ---
        "walk.test": [
            ("_dmarc", "TXT", "v=DMARC1; p=reject; sp=quarantine; np=reject; rua=mailto:dmarc@walk.test"),
            *_subdomain_sender("mail.sub", dkim=True),
            *_subdomain_sender("bare.sub", dkim=False),
        ],
        "walkp.test": [("_dmarc", "TXT", "v=DMARC1; p=reject"), *_subdomain_sender("news", dkim=False)],
        "mid.test": [("_dmarc.sub", "TXT", "v=DMARC1; p=quarantine"), *_subdomain_sender("mail.sub", dkim=False)],
        "psd.test": [  # psd.test plays a public suffix (psd=y); org.psd.test says it is an organization (psd=n)
            ("_dmarc", "TXT", "v=DMARC1; p=reject; psd=y"),
            ("_dmarc.org", "TXT", "v=DMARC1; p=none; psd=n"),
            *_subdomain_sender("team.org", dkim=False),
            *_subdomain_sender("mail.shop", dkim=False),
        ],
        "cname-walk.test": [  # the walk's second question ends in the SERVFAIL zone
            ("_dmarc.sub", "CNAME", "dmarc.servfail.test."),
            *_subdomain_sender("mail.sub", dkim=True),
        ],
        # --- provider from the domain (MX and SRV) ---
        "zoho-mx.test": [_mx("mx.zoho.eu."), ("@", "MX", "20 mx2.zoho.eu.")],
        "icloud-mx.test": [_mx("mx01.mail.icloud.com."), ("@", "MX", "10 mx02.mail.icloud.com.")],
        "proton-mx.test": [_mx("mail.protonmail.ch."), ("@", "MX", "20 mailsec.protonmail.ch.")],
        "srv-only.test": [
            _mx("mail.srv-only.test."),
            ("_submissions._tcp", "SRV", "0 1 465 mail.srv-only.test."),
            ("_submission._tcp", "SRV", "0 1 587 mail.srv-only.test."),
            ("mail", "A", "192.0.2.40"),
        ],
        "srv-starttls.test": [_mx(), ("_submission._tcp", "SRV", "0 1 587 smtp.srv-starttls.test.")],
        "srv-none.test": [_mx(), ("_submission._tcp", "SRV", "0 0 0 .")],
        "nothing.test": [("@", "TXT", "v=spf1 -all")],
        "srv-broken.test": [_mx(), ("_submission._tcp", "CNAME", "sub.servfail.test.")],  # its SRV look-up fails
    }


def all_zones() -> dict[str, list[Record]]:
    # the parent of the customer zones, so a DMARC tree walk's last question gets an answer (NXDOMAIN)
    return {**customer_zones(), **preset_zones(), **provider_zones(), "test": []}

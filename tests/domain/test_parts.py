"""The pieces of the sender-domain check that need no DNS: configuration, addresses, DKIM keys."""

from __future__ import annotations

import pytest

from smtpwizard.core.domain.check import dkim_selectors, sender_domain
from smtpwizard.core.domain.dkim import check_key
from smtpwizard.core.domain.dmarc import walk_names
from smtpwizard.core.domain.facts import load_dns_facts
from smtpwizard.core.domain.resolver import DnsConfig
from smtpwizard.core.domain.spf import parse
from smtpwizard.core.errors import FieldError
from smtpwizard.core.providers import provider_ids
from tests.domain.zones import dkim_key


@pytest.mark.parametrize(
    ("text", "server", "port"),
    [("127.0.0.1:5353", "127.0.0.1", 5353), ("[::1]:5300", "::1", 5300), ("::1", "::1", 53), ("", None, 53)],
)
def test_the_dns_server_is_chosen_by_smtpwizard_dns(text: str, server: str | None, port: int) -> None:
    config = DnsConfig.from_env({"SMTPWIZARD_DNS": text})
    assert (config.server, config.port) == (server, port)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SMTPWIZARD_DNS": "dns.example:53"}, "SMTPWIZARD_DNS: 'dns.example:53' is not IP[:PORT]"),
        ({"SMTPWIZARD_DNS": "127.0.0.1:0"}, "SMTPWIZARD_DNS: port 0 is out of range"),
        ({"SMTPWIZARD_DNS_TIMEOUT": "soon"}, "SMTPWIZARD_DNS_TIMEOUT: 'soon' is not a number"),
    ],
)
def test_a_malformed_dns_setting_names_the_variable_and_the_fix(env: dict[str, str], message: str) -> None:
    with pytest.raises(FieldError) as caught:
        DnsConfig.from_env(env)
    assert str(caught.value).startswith(message)


def test_the_sender_domain_comes_from_the_address() -> None:
    assert sender_domain("No-Reply@Mail.Example.COM") == "mail.example.com"
    assert sender_domain("bücher.example") == "xn--bcher-kva.example"
    with pytest.raises(FieldError, match="ADDRESS: 'nobody@localhost' has no valid domain"):
        sender_domain("nobody@localhost")


def test_the_dmarc_tree_walk_asks_each_parent_up_to_the_root() -> None:
    assert walk_names("mail.sub.example.com") == ("mail.sub.example.com", "sub.example.com", "example.com", "com")


def test_a_long_name_jumps_to_its_last_seven_labels_and_asks_at_most_eight_times() -> None:
    # the example of RFC 9989's "DNS Tree Walk" section, word for word
    assert walk_names("a.b.c.d.e.f.g.h.i.j.mail.example.com") == (
        "a.b.c.d.e.f.g.h.i.j.mail.example.com",
        "g.h.i.j.mail.example.com",
        "h.i.j.mail.example.com",
        "i.j.mail.example.com",
        "j.mail.example.com",
        "mail.example.com",
        "example.com",
        "com",
    )
    assert len(walk_names("a.b.c.d.e.f.g.h")) == 8 and walk_names("a.b.c.d.e.f.g.h")[1] == "b.c.d.e.f.g.h"


def test_spf_terms_keep_their_qualifiers() -> None:
    terms = parse("v=spf1 ip4:192.0.2.0/24 -include:x.test mx/24 redirect=y.test ?all")
    assert [(t.qualifier, t.name, t.value) for t in terms] == [
        ("+", "ip4", "192.0.2.0/24"),
        ("-", "include", "x.test"),
        ("+", "mx", ""),
        ("", "redirect", "y.test"),
        ("?", "all", ""),
    ]


def test_dkim_keys_are_judged_as_a_receiver_would() -> None:
    assert check_key(dkim_key()).bits == 2048
    assert "revoked" in check_key("v=DKIM1; p=").problem
    assert "not valid base64" in check_key("v=DKIM1; k=rsa; p=MIIB*").problem
    assert "not an RSA public key" in check_key("v=DKIM1; k=rsa; p=" + "QUJD" * 10).problem
    assert "v= tag must be DKIM1" in check_key("k=rsa; v=DKIM1; p=abc").problem


def test_every_dns_block_belongs_to_a_preset_and_cites_a_source() -> None:
    facts = load_dns_facts()
    assert set(facts) <= set(provider_ids())
    assert len(facts) >= 15
    assert all(f.source.startswith("https://") for f in facts.values())


def test_dkim_selectors_are_names_given_once() -> None:
    assert dkim_selectors(["S1", "s1._domainkey", "20240101120000pm"]) == ("s1", "20240101120000pm")
    with pytest.raises(FieldError, match="give at most 10"):
        dkim_selectors([f"s{i}" for i in range(11)])


def test_every_dkim_fact_names_its_source_and_the_third_party_ones_say_why() -> None:
    for facts in load_dns_facts().values():
        if facts.dkim is not None:
            assert (facts.dkim.source or facts.source).startswith("https://"), facts.provider_id
    brevo, icloud = load_dns_facts()["brevo"].dkim, load_dns_facts()["icloud"].dkim
    assert brevo is not None and icloud is not None
    assert brevo.source == "https://developers.brevo.com/docs/domain-authentication-and-verification"
    assert "brevo1/brevo2._domainkey CNAMEs" in brevo.source_note and "stay third-party" in brevo.source_note
    assert icloud.source_note.startswith("Third-party: ")

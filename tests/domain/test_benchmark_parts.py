"""The domain benchmark's parts (figures come from benchmarks/run.py --only domain, never from
timed assertions): the delaying DNS proxy relays real answers, and the one-after-another baseline
makes the same look-ups and reaches the same verdict as the concurrent check."""

from __future__ import annotations

import dataclasses

from smtpwizard.core.domain.check import check_domain
from smtpwizard.core.domain.resolver import DnsConfig
from tests.domain.knot import KnotServer, delay_proxy


async def test_the_baseline_asks_the_same_questions_through_the_delaying_proxy(
    dns_server: KnotServer, dns_config: DnsConfig
) -> None:
    with delay_proxy(dns_server.port, 0.005) as port:
        proxied = dataclasses.replace(dns_config, port=port)
        at_once = await check_domain("a@fastmail-ok.test", "fastmail", proxied)
        one_by_one = await check_domain("a@fastmail-ok.test", "fastmail", dataclasses.replace(proxied, parallel=False))
    assert at_once.verdict == one_by_one.verdict == "ready"
    assert at_once.queries == one_by_one.queries == 11  # with the DMARC tree walk's _dmarc.test
    assert [f.code for f in at_once.findings] == [f.code for f in one_by_one.findings]

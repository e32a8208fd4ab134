"""Benchmark section "domain": the whole sender-domain check with its look-ups at once vs. the
same look-ups one after another, against a real Knot DNS server on 127.0.0.1 behind a UDP proxy
that delays every query (a resolver some way off, or a cold cache). Called from run.py."""

from __future__ import annotations

import asyncio
import statistics
import time
from typing import Any

from smtpwizard.core.domain.check import DomainCheckOptions, DomainReport, check_domain
from smtpwizard.core.domain.resolver import DnsConfig
from tests.domain.knot import delay_proxy, knot_server
from tests.domain.zones import SES_TOKENS, all_zones

CASES = [  # the fixture domain, its provider, the user's selectors
    ("sendgrid-ok.test", "sendgrid", ()),
    ("ses-ok.test", "amazon_ses", SES_TOKENS),
    ("fastmail-ok.test", "fastmail", ()),
    ("m365-ok.test", "microsoft365", ()),
    ("spf-11.test", "sendgrid", ()),
    ("mail.sub.walk.test", "sendgrid", ()),  # a subdomain sender: the DMARC tree walk asks 4 names at once
]


def _timed(domain: str, provider: str, selectors: tuple[str, ...], config: DnsConfig) -> tuple[float, DomainReport]:
    started = time.perf_counter()
    report = asyncio.run(check_domain(f"a@{domain}", provider, config, DomainCheckOptions(selectors)))
    return time.perf_counter() - started, report


def bench_domain(run: Any) -> None:
    from benchmarks.run import heading, seconds, table  # run.py is loaded first and puts ROOT on sys.path

    delay_ms = run.rtt_s * 1000
    heading(
        f"Domain check: look-ups at once vs. one after another, {delay_ms:.0f} ms per query (median of {run.repeats})"
    )
    with knot_server(run.tmp / "knot", all_zones()) as server, delay_proxy(server.port, run.rtt_s) as port:
        parallel = DnsConfig(server="127.0.0.1", port=port, timeout_s=2.0)
        sequential = DnsConfig(server="127.0.0.1", port=port, timeout_s=2.0, parallel=False)
        rows, worst, ratios = [], 0.0, []
        for domain, provider, selectors in CASES:
            ours = [_timed(domain, provider, selectors, parallel) for _ in range(run.repeats)]
            base = [_timed(domain, provider, selectors, sequential) for _ in range(run.repeats)]
            ours_s = statistics.median(t for t, _ in ours)
            base_s = statistics.median(t for t, _ in base)
            report = ours[0][1]
            assert report.verdict == base[0][1].verdict  # the same answer either way
            worst = max(worst, ours_s)
            ratios.append(base_s / ours_s)
            rows.append(
                [
                    domain,
                    provider,
                    str(report.queries),
                    report.verdict,
                    seconds(ours_s),
                    seconds(base_s),
                    f"x{base_s / ours_s:.1f}",
                ]
            )
        table(rows, ["domain", "provider", "queries", "verdict", "at once", "one by one", "ratio"])
    print(f"  Every query is held {delay_ms:.0f} ms by the proxy. At once: each level of look-ups costs one delay")
    print("  (domain records, then CNAME targets / SPF includes a level at a time); one by one: every query does.")
    mark = run.target("domain check under 1 s with a delay on every query", f"slowest {seconds(worst)}", worst < 1.0)
    print(f"  Target: the whole check under 1 s at {delay_ms:.0f} ms per query: {mark}")
    mark = run.target(
        "domain check faster at once than one by one",
        f"ratio x{min(ratios):.1f} to x{max(ratios):.1f}",
        min(ratios) > 2,
    )
    print(f"  Target: at least twice as fast as the same look-ups one after another: {mark}")

"""The sender-domain check (DKIM, SPF, DMARC, MX) and the provider found from a domain."""

"""smtpwizard: get outgoing email of a self-hosted app working on the first try."""

__version__ = "0.1.0"

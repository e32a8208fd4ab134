"""The Textual front end. Only ``smtpwizard`` with no command imports this package."""

"""``python -m smtpwizard``."""

from smtpwizard.cli import main

raise SystemExit(main())

"""One screen per wizard step, in the order the user walks them."""

from __future__ import annotations

from smtpwizard.ui.steps.base import StepScreen
from smtpwizard.ui.steps.connection import ConnectionStep
from smtpwizard.ui.steps.consequences import ConsequencesStep
from smtpwizard.ui.steps.credentials import CredentialsStep
from smtpwizard.ui.steps.live_test import LiveTestStep
from smtpwizard.ui.steps.provider import ProviderStep
from smtpwizard.ui.steps.review import ReviewStep
from smtpwizard.ui.steps.sender import SenderStep
from smtpwizard.ui.steps.target import TargetStep

STEPS: tuple[type[StepScreen], ...] = (
    TargetStep,
    ProviderStep,
    ConnectionStep,
    CredentialsStep,
    SenderStep,
    ConsequencesStep,
    LiveTestStep,
    ReviewStep,
)

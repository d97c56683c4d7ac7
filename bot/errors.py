"""One small tree of exceptions, each carrying the context that explains it."""

from __future__ import annotations


class ReportbotError(Exception):
    """Base of every error this application raises on purpose."""


class ConfigError(ReportbotError):
    """Configuration is wrong; raised at start-up naming every bad setting at once.

    Each problem is one line that starts with the setting's name or key path, e.g.
    ``TWILIO_ACCOUNT_SID: required when TWILIO_AUTH_TOKEN is set``.
    """

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems: tuple[str, ...] = problems


class ConnectionProblem(ReportbotError):
    """A configured service cannot be reached; the message names the setting."""


class InvalidSignature(ReportbotError):
    """A webhook's signature or secret did not match; the request must be refused."""


class DuplicateUpdate(ReportbotError):
    """A provider delivered the same message again."""

    def __init__(self, channel: str, message_id: str) -> None:
        super().__init__(f"{channel} message {message_id} was already handled")
        self.channel = channel
        self.message_id = message_id


class PriorityDowngradeRefused(ReportbotError):
    """A hate-related case cannot be lowered from high priority (policy 4.11)."""

    def __init__(self, reference: str | None, requested: str) -> None:
        super().__init__(
            f"case {reference or '(new)'} is hate-related and stays high priority; "
            f"refused to set priority {requested!r} (policy 4.11)"
        )
        self.reference = reference
        self.requested = requested


class HateFlagRemovalRefused(ReportbotError):
    """Once anyone has perceived a case as hate-related, the flag stays (policy 2.1, 4.11)."""

    def __init__(self, reference: str | None) -> None:
        super().__init__(f"case {reference or '(new)'} was perceived as hate-related; the "
                         "flag cannot be removed (policy 2.1, 4.11)")
        self.reference = reference


class UnknownCase(ReportbotError):
    """No case has this reference."""

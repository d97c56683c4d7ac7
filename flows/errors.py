"""Errors raised by flow definitions."""


class FlowDefinitionError(ValueError):
    """A flow's steps are inconsistent; raised at start-up, not mid-conversation."""

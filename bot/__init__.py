"""reportbot: report hate-related incidents to a social landlord, on any channel.

`bot:create_app()` is the WSGI application factory for any server (gunicorn included);
nothing is created at import time.
"""


def create_app(*args, **kwargs):
    """Build the Flask application (see `bot.app.create_app`)."""
    from bot.app import create_app as factory

    return factory(*args, **kwargs)

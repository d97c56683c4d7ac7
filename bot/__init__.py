"""reportbot: report hate-related incidents to a social landlord, on any channel.

`bot.app:create_app()` is the WSGI application factory for any server (gunicorn
included); nothing is created at import time.
"""

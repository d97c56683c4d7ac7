"""Telegram: one bot, by webhook or long polling, with inline keyboards and files."""

from channels.telegram.api import TelegramConfig, config_from
from channels.telegram.channel import ALLOWED_UPDATES, TelegramChannel
from channels.telegram.cli import telegram as commands

__all__ = ["ALLOWED_UPDATES", "TelegramChannel", "TelegramConfig", "commands", "config_from"]

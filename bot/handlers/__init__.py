"""Telegram handlers: parse, call a service, pick a message key, reply after the commit.

This package's own module imports none of its handlers, so importing any one handler never
runs the others first; `bot.handlers.registry.register` wires them all (called by bot.app).
"""

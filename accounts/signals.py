"""Signals by which accounts tells the domains above it that something happened."""

from blinker import Namespace

_signals = Namespace()

# Sent with the new User after registration, inside the registering transaction.
user_registered = _signals.signal("user-registered")

"""The revenue split's JSON API."""

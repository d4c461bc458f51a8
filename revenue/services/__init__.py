"""The revenue split's rules: each module one part of it, each flushing and never committing."""

"""The revenue split's pages."""

"""The shapes the revenue API takes and answers, one module per API module."""

"""The kernel: extensions, errors, money, quantities, the ledger, idempotency, pagination, formatting and
column types. It imports no domain."""

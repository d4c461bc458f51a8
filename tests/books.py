"""The books' checks for tests: what `flask ledger check` and `flask stock check` find, read in an app context,
and `flask ledger check` run as from the command line."""

from core import ledger
from inventory import services as inv


def ledger_problems(app) -> list[str]:
    """What `flask ledger check` finds, a text a problem: [] when the books balance."""
    with app.app_context():
        return [str(problem) for problem in ledger.check_all()]


def stock_problems(app) -> list[str]:
    """What `flask stock check` finds: [] when the counters, the movements and the lots agree."""
    with app.app_context():
        return inv.stock_check()


def ledger_check(app):
    """`flask ledger check` as the command line runs it: its exit code and output."""
    return app.test_cli_runner().invoke(args=["ledger", "check"])


def assert_books_balance(app) -> None:
    """`flask ledger check` passes and says so."""
    result = ledger_check(app)
    assert result.exit_code == 0, result.output
    assert "The books balance." in result.output

"""The login throttle: guessing passwords (and invitation codes) is slow on every path and in every process.

Two counters of failed attempts are kept: one per account, keyed by the login identifier as typed and normalised
(so an unknown account is counted and answered exactly as a known one), and one per address. Every path that checks
a password or an invitation code counts against both: the login page, `/api/v1/auth/login`, `/api/v1/auth/token`,
the join page and `/api/v1/auth/invitations/accept`. After a counter's free failures each further attempt waits
2^(failures - free) seconds, at most LOGIN_LONGEST_WAIT_SECONDS; until then the answer is 429 with Retry-After.
An attempt is counted before the password is checked, so guesses sent at once are counted too; a success takes its
attempt back and clears the account's counter. A counter is forgotten after a quiet spell (ACCOUNT_FORGET_SECONDS,
ADDRESS_FORGET_SECONDS).

The counters live in Redis when REDIS_URL is set and in the database (table `login_failures`) otherwise, never in
a process. Views and API handlers call `authenticate`, or `begin` and `succeeded` around another secret.
"""

import hashlib
import hmac
import ipaddress
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import redis
from flask import current_app, request
from sqlalchemy import Integer, String, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column
from werkzeug.exceptions import TooManyRequests

from accounts import services
from accounts.models import User
from core.extensions import db
from core.phone import PhoneError, normalize_phone
from core.types import UtcDateTime

ACCOUNT_FORGET_SECONDS = 24 * 60 * 60
ADDRESS_FORGET_SECONDS = 60 * 60

ANSWER_429 = "Too many failed attempts for this account or from this address: try again after `Retry-After` seconds"

clock = time.time  # seconds since the epoch; tests put a clock of their own here


@dataclass(frozen=True)
class Limit:
    """How many failures a counter allows freely, the longest wait after them, and when it is forgotten."""

    free: int
    longest: float
    forget: float

    def wait(self, failures: int, last_at: float, now: float) -> float:
        """Seconds still to wait before another attempt; 0 when one may be made now."""
        if failures < self.free or now - last_at >= self.forget:
            return 0.0
        backoff = min(2.0 ** min(failures - self.free, 62), self.longest)
        return max(0.0, last_at + backoff - now)

    def counted(self, failures: int, last_at: float, now: float) -> int:
        """The failures after one more attempt now."""
        return (0 if now - last_at >= self.forget else failures) + 1


class LoginFailure(db.Model):
    """One counter of failed attempts: its key is a keyed hash of the account or address it counts."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class DatabaseStore:
    """Counters in the table `login_failures`, shared by every process on the database.

    An attempt is counted in its own commit, before the password is checked, so a failed login (whose
    transaction is rolled back) stays counted; an attempt refused for waiting is rolled back whole. Its rows are locked in key order (PostgreSQL); SQLite's one
    write lock keeps attempts apart there.
    """

    def attempt(self, counters: list[tuple[str, Limit]], now: float) -> float:
        """Count an attempt on every counter and answer 0, or answer the seconds to wait and count nothing."""
        moment = _moment(now)
        limits = dict(counters)
        self._forget_stale(moment)
        dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
        db.session.execute(
            dialect.insert(LoginFailure)
            .values([{"key": key, "failures": 0, "last_at": moment} for key in sorted(limits)])
            .on_conflict_do_nothing(index_elements=["key"])
        )
        rows = db.session.execute(
            select(LoginFailure.key, LoginFailure.failures, LoginFailure.last_at)
            .where(LoginFailure.key.in_(sorted(limits)))
            .order_by(LoginFailure.key)
            .with_for_update()
        ).all()
        seen = {key: (failures, last_at.timestamp()) for key, failures, last_at in rows}
        wait = max(limits[key].wait(*seen.get(key, (0, now)), now) for key in limits)
        if wait:
            db.session.rollback()  # a refused attempt leaves nothing behind, not even the rows made for it
            return wait
        for key, limit in limits.items():
            failures = limit.counted(*seen.get(key, (0, now)), now)
            db.session.execute(
                update(LoginFailure).where(LoginFailure.key == key).values(failures=failures, last_at=moment)
            )
        db.session.commit()
        return 0.0

    def forgive(self, address: str, accounts: list[str]) -> None:
        """Take the address's attempt back and clear the accounts' counters (committed with the login)."""
        db.session.execute(
            update(LoginFailure)
            .where(LoginFailure.key == address, LoginFailure.failures > 0)
            .values(failures=LoginFailure.failures - 1)
        )
        cleared = delete(LoginFailure).where(LoginFailure.key.in_(accounts) | (LoginFailure.failures <= 0))
        db.session.execute(cleared.where(LoginFailure.key.in_([address, *accounts])))

    @staticmethod
    def _forget_stale(moment: datetime) -> None:
        """Drop counters quiet for longer than any is kept; rows another attempt holds are left for later."""
        cutoff = moment - timedelta(seconds=max(ACCOUNT_FORGET_SECONDS, ADDRESS_FORGET_SECONDS))
        stale = (
            select(LoginFailure.key).where(LoginFailure.last_at < cutoff).limit(100).with_for_update(skip_locked=True)
        )
        db.session.execute(delete(LoginFailure).where(LoginFailure.key.in_(stale)))


class RedisStore:
    """Counters in Redis (a hash per key, expiring when forgotten), shared by every process on every host.

    An attempt reads and writes its counters in one optimistic transaction (WATCH, MULTI), retried when
    another process changed them in between. While Redis cannot be reached, the database keeps the counts
    (logins go on, still limited), and a warning is logged.
    """

    def __init__(self, url: str, prefix: str) -> None:
        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self.prefix = prefix
        self.fallback = DatabaseStore()

    def attempt(self, counters: list[tuple[str, Limit]], now: float) -> float:
        """Count an attempt on every counter and answer 0, or answer the seconds to wait and count nothing."""
        try:
            return self._attempt(counters, now)
        except redis.RedisError as exc:
            current_app.logger.warning("Login throttle: Redis unreachable (%s); counting in the database", exc)
            return self.fallback.attempt(counters, now)

    def forgive(self, address: str, accounts: list[str]) -> None:
        """Take the address's attempt back and clear the accounts' counters."""
        try:
            self._forgive(address, accounts)
        except redis.RedisError as exc:
            current_app.logger.warning("Login throttle: Redis unreachable (%s); counting in the database", exc)
            self.fallback.forgive(address, accounts)

    def _attempt(self, counters: list[tuple[str, Limit]], now: float) -> float:
        names = [(self.prefix + key, limit) for key, limit in counters]

        def count(pipe) -> float:
            seen = [_redis_state(pipe.hmget(name, "failures", "last_at"), now) for name, _ in names]
            wait = max(limit.wait(*state, now) for (_, limit), state in zip(names, seen, strict=True))
            pipe.multi()
            if not wait:
                for (name, limit), state in zip(names, seen, strict=True):
                    pipe.hset(name, mapping={"failures": limit.counted(*state, now), "last_at": repr(now)})
                    pipe.expire(name, math.ceil(limit.forget))
            return wait

        return self.redis.transaction(count, *(name for name, _ in names), value_from_callable=True)

    def _forgive(self, address: str, accounts: list[str]) -> None:
        name = self.prefix + address

        def take_back(pipe) -> None:
            failures = int(pipe.hget(name, "failures") or 0)
            pipe.multi()
            if failures > 1:
                pipe.hset(name, "failures", failures - 1)
            else:
                pipe.delete(name)

        self.redis.transaction(take_back, name)
        if accounts:
            self.redis.delete(*(self.prefix + key for key in accounts))


def _redis_state(values, now: float) -> tuple[int, float]:
    failures, last_at = values
    if failures is None or last_at is None:
        return 0, now
    return int(failures), float(last_at)


def _moment(now: float) -> datetime:
    return datetime.fromtimestamp(now, UTC)


@dataclass(frozen=True)
class Attempt:
    """An attempt counted on this request's address and, when one was named, an account."""

    address: str
    account: str | None


def account_key(identifier) -> str:
    """The account counter's key for a login identifier as `find_user_by_login` reads it: a phone number in +62
    form, anything else trimmed and lower-cased. Whether such an account exists plays no part."""
    text = identifier.strip() if isinstance(identifier, str) else ""
    if "@" not in text:
        try:
            return "account:" + normalize_phone(text)
        except PhoneError:
            pass
    return "account:" + text.lower()


def address_key(address: str | None) -> str:
    """The address counter's key: an IPv4 address, or the /64 network of an IPv6 one (which one host holds)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return f"address:{address or 'unknown'}"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return f"address:{ip.ipv4_mapped}"
        return f"address:{ipaddress.ip_network(f'{ip}/64', strict=False)}"
    return f"address:{ip}"


def begin(identifier: str | None = None) -> Attempt:
    """Count an attempt at a secret for this request's address and the account `identifier` names, before the
    secret is checked; 429 (with Retry-After) while either must wait. On the database it ends the session's
    transaction to keep the count: call it before the request writes anything."""
    config = current_app.config
    longest = config["LOGIN_LONGEST_WAIT_SECONDS"]
    attempt = Attempt(
        address=_stored_key(address_key(request.remote_addr)),
        account=_stored_key(account_key(identifier)) if identifier is not None else None,
    )
    counters = [(attempt.address, Limit(config["LOGIN_ADDRESS_FREE_FAILURES"], longest, ADDRESS_FORGET_SECONDS))]
    if attempt.account is not None:
        counters.append(
            (attempt.account, Limit(config["LOGIN_ACCOUNT_FREE_FAILURES"], longest, ACCOUNT_FORGET_SECONDS))
        )
    wait = _store().attempt(counters, clock())
    if wait > 0:
        raise TooManyRequests(retry_after=max(1, math.ceil(wait)))
    return attempt


def own_login(user: User) -> str:
    """The identifier a signed-in user's own password checks (changing it) are counted under: the same
    account counter as logging in with it."""
    return user.email or user.phone or user.username or f"user:{user.id}"


def succeeded(attempt: Attempt, user: User | None = None) -> None:
    """The secret was right: take the attempt back from the address, and clear the counters of the account it
    named and of every identifier `user` logs in with."""
    accounts = [attempt.account] if attempt.account is not None else []
    if user is not None:
        accounts += [_stored_key(account_key(login)) for login in (user.email, user.phone, user.username) if login]
    _store().forgive(attempt.address, sorted(set(accounts)))


def authenticate(identifier: str, password: str) -> User:
    """The active user with these credentials, as `accounts.services.authenticate` finds them, with the attempt
    counted: 429 while the account or the address must wait, 401 for wrong credentials."""
    attempt = begin(identifier)
    user = services.authenticate(identifier, password)
    succeeded(attempt, user)
    return user


def change_password(user: User, current_password, new_password, keep_token_id: int | None = None) -> User:
    """`accounts.services.change_password` with the current password's check counted as a login attempt on
    the user's account (a session left open on a shared phone is no way to guess it): 429 while it must wait."""
    attempt = begin(own_login(user))
    services.change_password(user, current_password, new_password, keep_token_id=keep_token_id)
    succeeded(attempt, user)
    return user


def _stored_key(key: str) -> str:
    """A keyed hash of `key`, so the counters name no e-mail address, phone number or address."""
    secret = current_app.secret_key
    secret = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(secret, key.encode(), hashlib.sha256).hexdigest()


def _store() -> DatabaseStore | RedisStore:
    """The app's store of counters: Redis when LOGIN_THROTTLE_STORAGE is a Redis URL, the database otherwise."""
    storage, prefix = current_app.config["LOGIN_THROTTLE_STORAGE"], current_app.config["LOGIN_THROTTLE_PREFIX"]
    stores = current_app.extensions.setdefault("login_throttle", {})
    if (storage, prefix) not in stores:
        stores[storage, prefix] = DatabaseStore() if storage == "database" else RedisStore(storage, prefix)
    return stores[storage, prefix]

"""The product's errors, one tree under `DodoError`, and the exit codes they end a command with.

Errors are raised where they happen with a message a merchant can act on (what failed and what to
do, never a secret); only the command line turns them into exit codes and only the dashboard into
`st.error`.
"""

import re
from enum import IntEnum

# Anything shaped like an API key or a bearer token, whoever's it is: a server may echo the key it was
# sent (in a 401 body, say), and a message can end up printed, stored and shown on the dashboard.
KEY_SHAPED = re.compile(r"\b(?:sk|pk|rk)_(?:live|test)_[A-Za-z0-9_.\-]+|(?<=Bearer )\S+", re.IGNORECASE)
REDACTED = "[redacted]"


class ExitCode(IntEnum):
    OK = 0
    FAILED = 1  # nothing published (the next run resumes), or published with rejected records
    USAGE = 2  # bad settings or arguments
    LOCKED = 75  # EX_TEMPFAIL: another sync holds the lock, try later


class DodoError(Exception):
    """Anything the product reports as one line; `exit_code` is what a command ends with."""

    exit_code = ExitCode.FAILED


class SettingsError(DodoError):
    """A missing or invalid setting or argument; the message names it and says what to do."""

    exit_code = ExitCode.USAGE


class LockHeld(DodoError):
    """Another sync holds the warehouse lock."""

    exit_code = ExitCode.LOCKED


class WarehouseError(DodoError):
    """The warehouse cannot be written or published; the message says where and what to do."""


class NoWarehouse(DodoError):
    """There is no published warehouse (or no completed sync in it) yet; the message says what to run."""


class TieOutError(DodoError):
    """The metric tables disagree with each other; the message names the table and the numbers."""


class MetricsError(DodoError):
    """A metric table could not be built from the data (not for want of disk); the message names it."""


class ApiError(DodoError):
    """The API could not give what was asked; the message says what and what to do. Never holds the key."""


class AuthError(ApiError):
    """The API refused the key (401)."""


class NotFound(ApiError):
    """The API has no such record (404)."""


class ForbiddenError(ApiError):
    """The key may not read a path (403): the sync skips that resource and goes on."""

    def __init__(self, path: str):
        super().__init__(
            f"The API key may not read {path} (403). Read-only keys may not read every resource; "
            "use a key with access to it, or leave it out with --resources."
        )
        self.path = path


def redact(text: str, *secrets: str) -> str:
    """`text` without the given secrets or anything shaped like a key, fit to print or store."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return KEY_SHAPED.sub(REDACTED, text)

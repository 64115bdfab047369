"""One failure policy for both drivers: which errors a retry can fix, and the one line they print.

Transient: the source kept failing after the client's own retries (`SourceUnavailable`), or
another process holds the warehouse's lock. Permanent: anything a retry cannot change (a wrong
token, bad configuration, a batch that cannot be staged or loaded, an unreadable pilot file).
A message never carries the token.
"""
from __future__ import annotations

import sys

# Exit codes of `python -m etl`: a scheduler may retry the second (sysexits' EX_TEMPFAIL).
EXIT_PERMANENT = 1
EXIT_TRANSIENT = 75


# Errors a retry cannot fix, by module: an exception of one of them exists only where its module
# was imported, so the check imports nothing (it runs where an import may be what failed).
_PERMANENT = (
    ("etl.config", "ConfigError"),
    ("etl.source", "SourceError"),
    ("etl.validation", "BlockingValidationError"),
    ("etl.load", "LoadError"),
    ("etl.pilot", "PilotFileError"),
    ("etl.report.data", "ReportError"),
)


def is_permanent(exc: BaseException) -> bool:
    source = sys.modules.get("etl.source")
    if source is not None and isinstance(exc, source.SourceUnavailable):
        return False
    permanent = tuple(getattr(sys.modules[module], name) for module, name in _PERMANENT
                      if module in sys.modules)
    return isinstance(exc, (*permanent, FileNotFoundError))


def redact(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


def one_line(stage: str, exc: BaseException, secret: str | None) -> str:
    """`<stage> failed permanently|transiently (<Type>): <message>`, one line, without the secret."""
    how = "permanently" if is_permanent(exc) else "transiently"
    message = " ".join(str(exc).split())
    return redact(f"{stage} failed {how} ({type(exc).__name__}): {message}", secret)


def exit_code(exc: BaseException) -> int:
    return EXIT_PERMANENT if is_permanent(exc) else EXIT_TRANSIENT

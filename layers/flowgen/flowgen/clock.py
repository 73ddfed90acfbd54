from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, truncated to milliseconds: MongoDB stores no finer, so reads equal writes."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)

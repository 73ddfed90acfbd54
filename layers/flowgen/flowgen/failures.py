"""What a learner reads when something failed: a sentence a person understands, never a class
name, a stack trace or a provider's internals (those go to the logs). Stored in a record's
`error` and shown by the API as it is."""

from __future__ import annotations

from flowgen.errors import DependencyUnavailable, ModelError

SOMETHING_WENT_WRONG = "Something went wrong on our side while writing this."


def public_reason(exc: BaseException) -> str:
    if isinstance(exc, ModelError):
        return exc.public
    if isinstance(exc, DependencyUnavailable):
        return "A service we depend on was unavailable while writing this."
    return SOMETHING_WENT_WRONG


def gave_up(reason: str, attempts: int) -> str:
    """The final reason, once the attempts cap is reached: it says how often it was tried."""
    return f"{reason.rstrip('.')}. Tried {attempts} times; you can try again."

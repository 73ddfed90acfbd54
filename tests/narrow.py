"""Narrowing for the type checker that is also a check: a record the test expects to exist."""


def present[T](value: T | None) -> T:
    assert value is not None, "expected a value, found None"
    return value

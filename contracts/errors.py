"""The contract library's exception tree (the hub maps it to problem+json)."""

from __future__ import annotations


class ContractError(ValueError):
    """Base of every error raised by ``contracts``: the message says what is wrong."""


class SignatureError(ContractError):
    """A JWS is malformed, made with an unknown key, or does not match the document."""


class TransitionError(ContractError):
    """A state change the lifecycle does not allow; ``allowed`` lists the legal targets."""

    def __init__(self, message: str, allowed: list[str]) -> None:
        super().__init__(message)
        self.allowed = allowed

"""The two state machines of the protocol: contract negotiation and transfer process.

Each machine is a table of steps: a message (or event), the party that may send it, the
states it may arrive in and the state it leads to. ``step`` answers the next state or
raises ``TransitionError`` (the binding answers 400 with an error body). Both parties use
the same table: the provider checks what the consumer sends, and itself before it sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from contracts.dsp.vocab import Role
from contracts.errors import TransitionError


class NegotiationState(StrEnum):
    REQUESTED = "REQUESTED"
    OFFERED = "OFFERED"
    ACCEPTED = "ACCEPTED"
    AGREED = "AGREED"
    VERIFIED = "VERIFIED"
    FINALIZED = "FINALIZED"
    TERMINATED = "TERMINATED"


class TransferState(StrEnum):
    REQUESTED = "REQUESTED"
    STARTED = "STARTED"
    SUSPENDED = "SUSPENDED"
    COMPLETED = "COMPLETED"
    TERMINATED = "TERMINATED"


class NegotiationStep(StrEnum):
    """What moves a negotiation: the messages, events named by their ``eventType``."""

    REQUEST = "request"
    OFFER = "offer"
    ACCEPT = "accept"
    AGREE = "agree"
    VERIFY = "verify"
    FINALIZE = "finalize"
    TERMINATE = "terminate"


class TransferStep(StrEnum):
    REQUEST = "request"
    START = "start"
    SUSPEND = "suspend"
    COMPLETE = "complete"
    TERMINATE = "terminate"


@dataclass(frozen=True)
class Rule:
    """``senders`` may send the step when the process is in one of ``sources``."""

    senders: frozenset[Role]
    sources: frozenset[str]
    target: str


def _rule(senders: tuple[Role, ...], sources: tuple[StrEnum, ...], target: StrEnum) -> Rule:
    return Rule(frozenset(senders), frozenset(str(s) for s in sources), str(target))


_P, _C, _BOTH = (Role.PROVIDER,), (Role.CONSUMER,), (Role.PROVIDER, Role.CONSUMER)
N, T = NegotiationState, TransferState

NEGOTIATION: dict[NegotiationStep, Rule] = {
    NegotiationStep.REQUEST: _rule(_C, (N.OFFERED,), N.REQUESTED),
    NegotiationStep.OFFER: _rule(_P, (N.REQUESTED,), N.OFFERED),
    NegotiationStep.ACCEPT: _rule(_C, (N.OFFERED,), N.ACCEPTED),
    NegotiationStep.AGREE: _rule(_P, (N.REQUESTED, N.ACCEPTED), N.AGREED),
    NegotiationStep.VERIFY: _rule(_C, (N.AGREED,), N.VERIFIED),
    NegotiationStep.FINALIZE: _rule(_P, (N.VERIFIED,), N.FINALIZED),
    NegotiationStep.TERMINATE: _rule(
        _BOTH, (N.REQUESTED, N.OFFERED, N.ACCEPTED, N.AGREED, N.VERIFIED), N.TERMINATED
    ),
}
"""A new negotiation starts REQUESTED (the consumer's request) or OFFERED (the
provider's offer); these are the steps of an existing one."""

TRANSFER: dict[TransferStep, Rule] = {
    TransferStep.START: _rule(_BOTH, (T.REQUESTED, T.SUSPENDED), T.STARTED),
    TransferStep.SUSPEND: _rule(_BOTH, (T.STARTED,), T.SUSPENDED),
    TransferStep.COMPLETE: _rule(_BOTH, (T.STARTED,), T.COMPLETED),
    TransferStep.TERMINATE: _rule(_BOTH, (T.REQUESTED, T.STARTED, T.SUSPENDED), T.TERMINATED),
}
"""A new transfer starts REQUESTED (the consumer's request). Only the provider starts a
REQUESTED transfer; either party restarts a suspended one."""


def _step(rule: Rule, name: str, sender: Role, current: str) -> str:
    if sender not in rule.senders:
        raise TransitionError(f"the {sender} may not send {name}", [])
    if current not in rule.sources:
        raise TransitionError(
            f"{name} is not allowed in state {current}; allowed in: "
            + ", ".join(sorted(rule.sources)),
            [],
        )
    return rule.target


def negotiation_step(step: NegotiationStep, sender: Role, current: str) -> str:
    """The state after ``sender`` sends ``step`` in ``current``; raises ``TransitionError``."""
    return _step(NEGOTIATION[step], step, sender, current)


def transfer_step(step: TransferStep, sender: Role, current: str) -> str:
    """The state after ``sender`` sends ``step`` in ``current``; raises ``TransitionError``.

    A consumer may not start a REQUESTED transfer (only the provider grants it)."""
    if step is TransferStep.START and sender is Role.CONSUMER and current == T.REQUESTED:
        raise TransitionError("only the provider starts a requested transfer", [])
    return _step(TRANSFER[step], step, sender, current)

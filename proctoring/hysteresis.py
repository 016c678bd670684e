"""When does a condition seen in some frames become one event? Pure state machine, no I/O.

A condition (no face, two faces, looking away...) must be seen for `onset` seconds before an
event opens, and absent for `release` seconds before it closes. So a blink or one bad frame
raises nothing, and a 30-second absence is one event with a duration, not fifteen.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Action(StrEnum):
    NONE = "none"
    OPEN = "open"  # create the event (it started at `first_seen`)
    EXTEND = "extend"  # still going: move its end time
    CLOSE = "close"  # over: its end time is `last_seen`


@dataclass(frozen=True)
class ConditionState:
    first_seen: float | None = None  # start of the current run of sightings
    last_seen: float | None = None
    open: bool = False
    event_id: int | None = None

    def to_dict(self) -> dict:
        return {
            "first_seen": self.first_seen,
            "last_seen": self.last_seen,
            "open": self.open,
            "event_id": self.event_id,
        }

    @classmethod
    def from_dict(cls, data: dict | None) -> ConditionState:
        return cls(**data) if data else cls()


def step(
    state: ConditionState, *, present: bool, now: float, onset: float, release: float
) -> tuple[ConditionState, Action]:
    """Advance one observation at time `now` (seconds)."""
    if present:
        first = state.first_seen if state.first_seen is not None else now
        state = replace(state, first_seen=first, last_seen=now)
        if state.open:
            return state, Action.EXTEND
        if now - first >= onset:
            return replace(state, open=True), Action.OPEN
        return state, Action.NONE
    if state.open:
        if state.last_seen is not None and now - state.last_seen >= release:
            return ConditionState(), Action.CLOSE
        return state, Action.NONE
    # Not present and not open: a run of sightings too short to count is forgotten.
    return ConditionState(), Action.NONE

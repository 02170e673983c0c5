"""The instruction pool: slots the Meta-LLM fills, persisted in the Optuna study.

The sampler chooses a slot id, a fixed categorical choice (Optuna's categorical
distributions cannot grow). Slot 0 is the seed; generated slots are filled before the
first trial; an empty slot chosen by the sampler is filled by refining the best
trial's failures. Slots live in the study's user attributes, so a resumed study
keeps its pool and never asks the Meta-LLM twice for the same slot.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

_KEY = "pool_slot_"


class _AttrStore(Protocol):
    """The part of ``optuna.Study`` the pool needs (tests may pass a dict-like fake)."""

    @property
    def user_attrs(self) -> dict[str, Any]: ...

    def set_user_attr(self, key: str, value: Any) -> None: ...


@dataclass(frozen=True)
class PoolEntry:
    """One instruction in the pool and where it came from."""

    slot: int
    instruction: str
    origin: str
    parent_slot: int | None = None
    critique: str = ""


Once = Callable[[str, Callable[[], Any]], Any]
"""Runs an action in one worker of the study only; every worker gets its result."""


def _here(key: str, action: Callable[[], Any]) -> Any:
    return action()


class InstructionPool:
    """Fixed-capacity instruction slots stored in a study's user attributes.

    ``once`` makes each attempt to fill a slot run in one worker of the study only
    (:func:`autotune.search.coordination.run_once`), so workers choosing the same empty
    slot at once ask the Meta-LLM once: no proposal overwritten, none made twice.
    """

    def __init__(self, store: _AttrStore, capacity: int, once: Once = _here) -> None:
        self.store = store
        self.capacity = capacity
        self.once = once

    def slot_ids(self) -> list[str]:
        """The sampler's choices: every slot id, filled or not, as strings."""
        return [str(slot) for slot in range(self.capacity)]

    def get(self, slot: int) -> PoolEntry | None:
        data = self.store.user_attrs.get(f"{_KEY}{slot}")
        return PoolEntry(**data) if data else None

    def put(self, entry: PoolEntry) -> None:
        if not 0 <= entry.slot < self.capacity:
            raise IndexError(f"slot {entry.slot} outside the pool of {self.capacity}")
        self.store.set_user_attr(f"{_KEY}{entry.slot}", asdict(entry))

    def fill(self, slot: int, propose: Callable[[], PoolEntry | None]) -> PoolEntry | None:
        """The slot's entry, filled with ``propose()`` first if it is empty.

        Attempts to fill a slot are numbered and each runs in one worker: a worker that
        finds another's attempt rejected (``propose`` gave None) makes the next attempt
        itself. None means this worker's own proposal was rejected.
        """
        attempt = 0
        while (entry := self.get(slot)) is None:
            kept, mine = self._attempt(slot, attempt, propose)
            if kept is not None:
                return kept
            if mine:
                return None
            attempt += 1
        return entry

    def _attempt(
        self, slot: int, attempt: int, propose: Callable[[], PoolEntry | None]
    ) -> tuple[PoolEntry | None, bool]:
        """(the entry it filled or None, whether this worker made the attempt)."""
        mine: list[bool] = []

        def attempt_fill() -> dict[str, Any] | None:
            mine.append(True)
            proposed = propose()
            if proposed is not None:
                self.put(proposed)
            return asdict(proposed) if proposed is not None else None

        kept = self.once(f"pool-slot-{slot}-{attempt}", attempt_fill)
        return (PoolEntry(**kept) if kept is not None else None), bool(mine)

    def entries(self) -> list[PoolEntry]:
        """The filled slots, by slot id."""
        found = (self.get(slot) for slot in range(self.capacity))
        return [entry for entry in found if entry is not None]

    def empty_slots(self) -> list[int]:
        return [slot for slot in range(self.capacity) if self.get(slot) is None]

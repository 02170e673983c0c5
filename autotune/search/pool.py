"""The instruction pool: slots the Meta-LLM fills, persisted in the Optuna study.

The sampler chooses a slot id, a fixed categorical choice (Optuna's categorical
distributions cannot grow). Slot 0 is the seed; generated slots are filled before the
first trial; an empty slot chosen by the sampler is filled by refining the best
trial's failures. Slots live in the study's user attributes, so a resumed study
keeps its pool and never asks the Meta-LLM twice for the same slot.
"""

from __future__ import annotations

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


class InstructionPool:
    """Fixed-capacity instruction slots stored in a study's user attributes."""

    def __init__(self, store: _AttrStore, capacity: int) -> None:
        self.store = store
        self.capacity = capacity

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

    def entries(self) -> list[PoolEntry]:
        """The filled slots, by slot id."""
        found = (self.get(slot) for slot in range(self.capacity))
        return [entry for entry in found if entry is not None]

    def empty_slots(self) -> list[int]:
        return [slot for slot in range(self.capacity) if self.get(slot) is None]

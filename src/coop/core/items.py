"""How the review and enforcement code names an item: the pair (id, typeId)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ItemRef:
    item_id: str
    item_type_id: str

    def as_wire(self) -> dict[str, str]:
        return {"id": self.item_id, "typeId": self.item_type_id}

from __future__ import annotations

from coop.core.enums import ClearDisposition, ColorScheme, QueueOrder


def test_choices_carry_values_and_labels():
    assert QueueOrder.choices == [
        ("FIFO", "Fifo"),
        ("MOST_REPORTS", "Most Reports"),
        ("PRIORITY", "Priority"),
    ]
    assert ClearDisposition.NONE == ""
    assert ClearDisposition.NONE.label == "Off"
    assert ColorScheme("SEPIA").label == "Sepia"
    assert ColorScheme.values == ["NONE", "GRAYSCALE", "SEPIA"]

// The permission matrix: arrow keys move between its checkboxes (Tab enters and leaves it),
// Home/End go to the row's first/last box. Loaded as a file (the CSP forbids inline script).
"use strict";

document.addEventListener("keydown", (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || box.type !== "checkbox") return;
  const table = box.closest("table[data-matrix]");
  if (!table) return;
  const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
  const rows = Array.from(table.tBodies[0].rows);
  const cell = box.closest("td");
  let row = rows.indexOf(cell.parentElement);
  let col = Array.from(cell.parentElement.cells).indexOf(cell);
  const last = cell.parentElement.cells.length - 1;
  let step;
  if (event.key in moves) {
    step = moves[event.key];
  } else if (event.key === "Home") {
    [col, step] = [0, [0, 1]];
  } else if (event.key === "End") {
    [col, step] = [last + 1, [0, -1]];
  } else {
    return;
  }
  event.preventDefault();
  // Column 0 holds the permission names; boxes the user may not change are disabled: skip them.
  for (;;) {
    row += step[0];
    col += step[1];
    if (row < 0 || row >= rows.length || col < 1 || col > last) return;
    const target = rows[row].cells[col].querySelector("input[type=checkbox]");
    if (target && !target.disabled) {
      target.focus();
      return;
    }
  }
});

// Bank pages: a bad line's "Line N" button selects that line in the pasted entries.
"use strict";

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-line]");
  if (!button) return;
  const area = document.getElementById(button.dataset.target);
  if (!area) return;
  const lines = area.value.split("\n");
  const wanted = Number(button.dataset.line) - 1;
  if (!(wanted >= 0 && wanted < lines.length)) return;
  let start = 0;
  for (let i = 0; i < wanted; i += 1) start += lines[i].length + 1;
  area.focus();
  area.setSelectionRange(start, start + lines[wanted].length);
  // Scroll the line into view: lines are of one height in the monospaced textarea.
  const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 18;
  area.scrollTop = Math.max(0, wanted * lineHeight - area.clientHeight / 2);
});

// Coop console behaviour. Loaded as a file (the CSP forbids inline script).
"use strict";

document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-copy]");
  if (!button) return;
  const source = document.getElementById(button.dataset.copy);
  if (!source) return;
  // An input's value, or the text of a <pre> (code to paste).
  const text = "value" in source ? source.value : source.textContent;
  if (source.select) source.select();
  navigator.clipboard.writeText(text).then(
    () => { button.textContent = "Copied"; },
    () => { button.textContent = "Press Ctrl+C to copy"; },
  );
});

// The NCMEC job view's own shortcuts (review.js handles `?`, e, a, r, s):
// j / k move to the next / previous media item's classification, m to the first thread
// message, t to the incident type. Loaded as a file (the CSP forbids inline script).
"use strict";

(() => {
  const TEXT_INPUTS = new Set([
    "text", "search", "email", "url", "tel", "password", "number", "date", "datetime-local",
    "month", "week", "time",
  ]);

  const OWN_KEYS = new Set(["j", "k", "m", "t"]);

  function isTyping(el) {
    if (!el || el === document.body) return false;
    if (el.isContentEditable) return true;
    if (el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
    return el.tagName === "INPUT" && TEXT_INPUTS.has((el.type || "text").toLowerCase());
  }

  function go(target) {
    if (!target || target.disabled) return false;
    target.scrollIntoView({ block: "center" });
    target.focus({ preventScroll: true });
    return true;
  }

  function moveMedia(step) {
    const selects = Array.from(document.querySelectorAll("[data-media-select]"));
    if (!selects.length) return false;
    const card = document.activeElement && document.activeElement.closest("[data-media-card]");
    const current = card ? selects.indexOf(card.querySelector("[data-media-select]")) : -1;
    const next = current < 0 ? (step > 0 ? 0 : selects.length - 1) : current + step;
    return go(selects[Math.max(0, Math.min(selects.length - 1, next))]);
  }

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.isComposing) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const dialog = document.getElementById("shortcuts");
    if (dialog && dialog.open) return;
    const el = document.activeElement;
    // From a classification list these keys still work (A, B, N choose within the list).
    const inSelect = el && el.matches && el.matches("[data-media-select]");
    if (isTyping(el) && !(inSelect && OWN_KEYS.has(event.key))) return;
    let done = false;
    if (event.key === "j") done = moveMedia(1);
    else if (event.key === "k") done = moveMedia(-1);
    else if (event.key === "m") done = go(document.querySelector("[data-first-message]"));
    else if (event.key === "t") {
      done = go(document.querySelector("[data-incident]:checked") ||
        document.querySelector("[data-incident]"));
    }
    if (done) event.preventDefault();
  });
})();

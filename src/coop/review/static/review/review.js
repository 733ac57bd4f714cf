// Review Console: keyboard shortcuts of the decision panel and the `?` list.
// Loaded as a file (the CSP forbids inline script). Targets carry data-shortcut="<key>".
"use strict";

(() => {
  const TEXT_INPUTS = new Set([
    "text", "search", "email", "url", "tel", "password", "number", "date", "datetime-local",
    "month", "week", "time",
  ]);

  function isTyping(el) {
    if (!el || el === document.body) return false;
    if (el.isContentEditable) return true;
    if (el.tagName === "TEXTAREA" || el.tagName === "SELECT") return true;
    return el.tagName === "INPUT" && TEXT_INPUTS.has((el.type || "text").toLowerCase());
  }

  function dialog() {
    return document.getElementById("shortcuts");
  }

  function openShortcuts() {
    const d = dialog();
    if (d && !d.open) d.showModal();
  }

  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-open-shortcuts]")) openShortcuts();
  });

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.isComposing) return;
    const d = dialog();
    if (d && d.open) return; // Escape closes the dialog natively
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      const own = event.target.closest ? event.target.closest("form") : null;
      const form = own && !own.matches("[data-decision-form]") && own.hasAttribute("hx-post")
        ? own
        : document.querySelector("[data-decision-form]");
      if (form) {
        event.preventDefault();
        form.requestSubmit();
      }
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (isTyping(event.target)) return;
    if (event.key === "?") {
      if (!d) return;
      event.preventDefault();
      openShortcuts();
      return;
    }
    if (event.key.length !== 1) return;
    const target = document.querySelector(`[data-shortcut="${CSS.escape(event.key)}"]`);
    if (!target || target.disabled) return;
    event.preventDefault();
    target.scrollIntoView({ block: "nearest" });
    if (target.matches("input[type=checkbox], input[type=radio], button")) {
      target.click();
      if (target.tagName === "INPUT") target.focus({ preventScroll: true });
    } else {
      target.focus();
    }
  });

  function focusRefused() {
    const el = document.querySelector("[data-focus]");
    if (el) el.focus();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusRefused);
  } else {
    focusRefused();
  }
  // A comment refused in place (htmx swap): focus its field.
  document.addEventListener("htmx:afterSwap", focusRefused);
})();

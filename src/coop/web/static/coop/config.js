// Configuration pages (item types, policies, actions, routing). Loaded as a file (the CSP
// forbids inline script). Every form also works without it: Add/Remove rows and Move up/down
// are submit buttons the server handles; this script does the same in place.
"use strict";

document.documentElement.classList.add("js");

// --- Repeated rows -------------------------------------------------------------------------

function addRow(prefix) {
  const table = document.querySelector(`[data-rows="${prefix}"]`);
  const template = document.getElementById(`${prefix}-template`);
  if (!table || !template) return;
  const index = Number(table.dataset.nextIndex || table.tBodies[0].rows.length);
  table.dataset.nextIndex = String(index + 1);
  const body = table.tBodies[0];
  body.insertAdjacentHTML("beforeend", template.innerHTML.replaceAll("__index__", String(index)));
  const row = body.lastElementChild;
  initRow(row);
  table.dispatchEvent(new Event("rows-changed", { bubbles: true }));
  const first = row.querySelector("input, select");
  if (first) first.focus();
}

function removeRow(button) {
  const row = button.closest("[data-row]");
  const table = row.closest("[data-rows]");
  const next = row.nextElementSibling || row.previousElementSibling;
  row.remove();
  table.dispatchEvent(new Event("rows-changed", { bubbles: true }));
  const target = next
    ? next.querySelector("input, select")
    : document.querySelector(`[data-add-row="${table.dataset.rows}"]`);
  if (target) target.focus();
}

document.addEventListener("click", (event) => {
  const add = event.target.closest("[data-add-row]");
  if (add) {
    event.preventDefault();
    addRow(add.dataset.addRow);
    return;
  }
  const remove = event.target.closest("[data-remove-row]");
  if (remove) {
    event.preventDefault();
    removeRow(remove);
  }
});

// --- Item types: element type of containers, roles offered by field type and kind ----------

const CONTAINERS = ["ARRAY", "MAP"];

function showElementType(row) {
  const type = row.querySelector("[data-field-type]");
  const element = row.querySelector("[data-element]");
  if (!type || !element) return;
  const container = CONTAINERS.includes(type.value);
  element.hidden = !container;
  element.disabled = !container;
}

function refreshRoles(form) {
  const fields = [...form.querySelectorAll('[data-rows="fields"] tbody tr')].map((row) => ({
    name: row.querySelector("[data-field-name]").value.trim(),
    type: row.querySelector("[data-field-type]").value,
  }));
  const kind = form.querySelector('[name="kind"]').value;
  for (const role of form.querySelectorAll("[data-role]")) {
    const kinds = role.dataset.roleKinds.split(" ").filter(Boolean);
    const applies = kinds.length === 0 || kinds.includes(kind);
    const select = role.querySelector("select");
    role.hidden = !applies;
    select.disabled = !applies;
    const chosen = select.value;
    const names = fields.filter((f) => f.name && f.type === role.dataset.roleType).map((f) => f.name);
    select.replaceChildren(new Option("—", ""));
    for (const name of names) select.add(new Option(name, name, false, name === chosen));
    if (chosen && !names.includes(chosen)) {
      select.add(new Option(`${chosen} (no ${role.dataset.roleType} field of this name)`, chosen, false, true));
    }
  }
}

// --- Actions: header value kinds ---------------------------------------------------------------

function showHeaderSource(row) {
  const source = row.querySelector("[data-header-source]");
  const value = row.querySelector("[data-header-value]");
  if (!source || !value) return;
  const kind = source.value;
  // A write-only value is typed like a password and never shown back.
  value.type = kind === "encrypted" ? "password" : "text";
  if (kind === "encrypted") value.value = "";
  const placeholders = { secret: "SECRET_…", encrypted: "Type the value" };
  const labels = { secret: "Environment variable name", encrypted: "Secret header value" };
  if (!(kind === "encrypted" && value.placeholder.startsWith("Set"))) {
    value.placeholder = placeholders[kind] || "";
  }
  value.setAttribute("aria-label", labels[kind] || "Header value");
}

// --- Routing conditions: the value input that fits what is compared ----------------------------

function showConditionValue(row) {
  const input = row.querySelector("[data-condition-input]");
  const comparator = row.querySelector("[data-condition-comparator]");
  if (!input || !comparator) return;
  const option = input.selectedOptions[0];
  const kind = option ? option.dataset.kind || "" : "";
  const none = comparator.value === "IS_NOT_PROVIDED";
  for (const span of row.querySelectorAll("[data-for-kind]")) {
    const shown = !none && span.dataset.forKind === (kind || "field");
    span.hidden = !shown;
    for (const control of span.querySelectorAll("input, select")) control.disabled = !shown;
  }
}

function initRow(row) {
  showElementType(row);
  showHeaderSource(row);
  showConditionValue(row);
}

// --- Policies: own strike weight only when chosen ----------------------------------------------

function showStrikes(fieldset) {
  const own = fieldset.querySelector('input[type="radio"][value="own"]');
  const weight = fieldset.querySelector('input[name="strikes"]');
  if (own && weight) weight.disabled = !own.checked;
  const parent = fieldset.form.querySelector('[name="parent"]');
  const inherited = fieldset.querySelector("[data-inherited]");
  const weights = JSON.parse(fieldset.dataset.weights || "{}");
  if (parent && inherited && parent.value in weights) inherited.textContent = weights[parent.value];
}

document.addEventListener("change", (event) => {
  const row = event.target.closest("[data-row]");
  if (row) initRow(row);
  const form = event.target.form;
  const strikes = form ? form.querySelector("[data-strikes]") : null;
  if (strikes) showStrikes(strikes);
  const itemTypeForm = event.target.closest("[data-item-type-form]");
  if (itemTypeForm) refreshRoles(itemTypeForm);
});

document.addEventListener("input", (event) => {
  if (event.target.matches("[data-field-name]")) {
    refreshRoles(event.target.closest("[data-item-type-form]"));
  }
});

document.addEventListener("rows-changed", (event) => {
  const form = event.target.closest("[data-item-type-form]");
  if (form) refreshRoles(form);
});

// --- Routing: reorder by Move up / Move down and by drag -----------------------------------------

function announce(text) {
  const status = document.getElementById("reorder-status");
  if (status) status.textContent = text;
}

function renumber(list) {
  [...list.children].forEach((item, i) => {
    const position = item.querySelector(".order-list__position");
    if (position) position.textContent = String(i + 1);
  });
}

function highlight(item) {
  item.classList.add("is-moved");
  setTimeout(() => item.classList.remove("is-moved"), 900);
}

const saving = new WeakMap(); // list -> the promise of its last save, so saves go in order

function saveOrder(list, item) {
  const ids = [...list.children].map((li) => li.dataset.id);
  const token = list.querySelector('[name="csrfmiddlewaretoken"]').value;
  const body = new URLSearchParams();
  body.append("csrfmiddlewaretoken", token);
  for (const id of ids) body.append("order", id);
  const previous = saving.get(list) || Promise.resolve();
  const next = previous.then(async () => {
    try {
      const response = await fetch(list.dataset.reorder, {
        method: "POST",
        headers: { Accept: "application/json", "X-CSRFToken": token },
        body,
        credentials: "same-origin",
      });
      const answer = await response.json();
      if (!response.ok) {
        announce(answer.error || "The order was not saved.");
        restoreOrder(list, answer.order || []);
        return;
      }
      const position = ids.indexOf(item.dataset.id) + 1;
      announce(`Saved: “${item.dataset.name}” is now number ${position} of ${ids.length}.`);
    } catch (error) {
      announce("The order was not saved: the server could not be reached. Reload the page.");
    }
  });
  saving.set(list, next);
  return next;
}

function restoreOrder(list, ids) {
  const items = new Map([...list.children].map((li) => [li.dataset.id, li]));
  for (const id of ids) if (items.has(id)) list.appendChild(items.get(id));
  renumber(list);
}

function moveItem(list, item, direction, button) {
  const sibling = direction === "up" ? item.previousElementSibling : item.nextElementSibling;
  if (!sibling) {
    announce(`“${item.dataset.name}” is already ${direction === "up" ? "first" : "last"}.`);
    return;
  }
  list.insertBefore(item, direction === "up" ? sibling : sibling.nextElementSibling);
  renumber(list);
  highlight(item);
  if (button) button.focus();
  saveOrder(list, item);
}

function dropsBefore(target, event) {
  const box = target.getBoundingClientRect();
  return event.clientY < box.top + box.height / 2;
}

function setUpReorder(list) {
  list.addEventListener("submit", (event) => {
    const form = event.target.closest("[data-move-form]");
    if (!form) return;
    event.preventDefault();
    const button = event.submitter;
    moveItem(list, form.closest("li"), button ? button.value : "down", button);
  });

  let dragged = null;
  const clearMarks = () => {
    for (const li of list.children) li.classList.remove("is-drop-before", "is-drop-after");
  };
  for (const item of list.children) item.draggable = true;
  list.addEventListener("dragstart", (event) => {
    dragged = event.target.closest("li");
    if (!dragged) return;
    dragged.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.dataset.id);
  });
  list.addEventListener("dragover", (event) => {
    const target = event.target.closest("li");
    if (!dragged || !target || !list.contains(target)) return;
    event.preventDefault();
    clearMarks();
    if (target === dragged) return;
    target.classList.add(dropsBefore(target, event) ? "is-drop-before" : "is-drop-after");
  });
  list.addEventListener("drop", (event) => {
    const target = event.target.closest("li");
    if (!dragged || !target || !list.contains(target)) return;
    event.preventDefault();
    const before = dropsBefore(target, event);
    clearMarks();
    if (target !== dragged) {
      list.insertBefore(dragged, before ? target : target.nextElementSibling);
      renumber(list);
      highlight(dragged);
      saveOrder(list, dragged);
    }
  });
  list.addEventListener("dragend", () => {
    clearMarks();
    if (dragged) dragged.classList.remove("is-dragging");
    dragged = null;
  });
}

// --- Start -----------------------------------------------------------------------------------

function start() {
  for (const row of document.querySelectorAll("[data-row]")) initRow(row);
  for (const fieldset of document.querySelectorAll("[data-strikes]")) showStrikes(fieldset);
  for (const form of document.querySelectorAll("[data-item-type-form]")) refreshRoles(form);
  for (const list of document.querySelectorAll("[data-reorder]")) setUpReorder(list);
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();

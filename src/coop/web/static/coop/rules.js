// The condition builder of the rule form, and the spot test's item chooser (rules pages).
// Loaded as a file (the CSP forbids inline script). The builder edits a tree of groups
// (all / any / xor) and conditions and writes it, in the configuration file's JSON shape, into
// the form's `condition` text area: that is what is posted, so without this script the same
// form works with the JSON alone. The server validates; its messages come back with paths
// (`condition.any[1].banks[0]`) that are mapped here to the node and the control they name.
"use strict";

(() => {
  const OPERATORS = [["all", "All of"], ["any", "Any of"], ["xor", "Exactly one of"]];
  const VALUE_COMPARATORS = [
    "EQUALS", "NOT_EQUAL_TO", "LESS_THAN", "LESS_THAN_OR_EQUALS", "GREATER_THAN",
    "GREATER_THAN_OR_EQUALS",
  ];
  const TEXT_TYPES = ["STRING", "ID", "URL", "EMAIL_ADDRESS", "IP_ADDRESS", "DATETIME", "GEOHASH"];
  const LEAF_KEYS = ["input", "signal", "subcategory", "values", "banks", "comparator", "threshold", "substring"];

  let catalog = null;
  let root = null; // {op, children} | leaf {input, signal, ...}
  let errors = []; // [{path, message}] from the last validation
  let target = null; // the condition text area
  let container = null;
  let focusKey = null;
  let uid = 0;

  // --- Model ------------------------------------------------------------------------------

  function isGroup(node) {
    return node && typeof node === "object" && OPERATORS.some(([op]) => Array.isArray(node[op]));
  }

  function fromJson(data) {
    // The file's shape -> the builder's model (a leaf at the top goes into an "all" group).
    if (isGroup(data)) {
      const op = OPERATORS.find(([name]) => Array.isArray(data[name]))[0];
      if (Object.keys(data).length !== 1) throw new Error("a group has one key");
      return { op, children: data[op].map(fromJson) };
    }
    if (data && typeof data === "object" && !Array.isArray(data)) {
      if (Object.keys(data).some((k) => !LEAF_KEYS.includes(k))) throw new Error("unknown key");
      const leaf = { ...data };
      if (leaf.values !== undefined && !Array.isArray(leaf.values)) throw new Error("values");
      if (leaf.banks !== undefined && !Array.isArray(leaf.banks)) throw new Error("banks");
      return leaf;
    }
    throw new Error("not a condition");
  }

  function toJson(node) {
    if (node.op) return { [node.op]: node.children.map(toJson) };
    const out = {};
    for (const key of LEAF_KEYS) {
      const value = node[key];
      if (value === undefined || value === null || value === "") continue;
      if (Array.isArray(value) && value.length === 0) continue;
      if (key === "substring" && value !== true) continue;
      out[key] = value;
    }
    return out;
  }

  function write() {
    target.value = JSON.stringify(toJson(root), null, 2);
  }

  function nodeAt(path) {
    // path: [] for the root, [i, j] for root.children[i].children[j]
    let node = root;
    for (const i of path) node = node.children[i];
    return node;
  }

  // --- What the catalog offers ------------------------------------------------------------

  function chosenTypes() {
    const boxes = [...document.querySelectorAll('#rule-item-types input[name="item_types"]')];
    const chosen = boxes.filter((b) => b.checked).map((b) => b.value);
    const types = catalog.itemTypes.filter((t) => chosen.includes(t.id));
    return types.length ? types : catalog.itemTypes;
  }

  function hasActions() {
    return [...document.querySelectorAll('input[name="actions"]')].some((b) => b.checked);
  }

  function fieldsOffered() {
    const seen = new Map();
    for (const type of chosenTypes()) {
      for (const field of type.fields) {
        if (!seen.has(field.name)) seen.set(field.name, { ...field, types: [] });
        seen.get(field.name).types.push(type.name);
      }
    }
    return [...seen.values()];
  }

  function inputKey(input) {
    if (input && typeof input === "object") return "field:" + input.field;
    return input || "";
  }

  function inputType(input) {
    // The value type the input gives for the chosen item types (what signals accept).
    if (!input) return null;
    const types = chosenTypes();
    if (typeof input === "object") {
      for (const type of types) {
        const field = type.fields.find((f) => f.name === input.field);
        if (field) return field.type;
      }
      return null;
    }
    if (input === "AUTHOR") return "USER";
    if (input === "ITEM") return types.every((t) => t.kind === "USER") ? "USER" : "RELATED_ITEM";
    const derived = catalog.inputs.find((i) => i.value === input);
    return derived ? derived.type : null;
  }

  function signalFor(id) {
    return catalog.signals.find((s) => s.id === id) || null;
  }

  function accepts(signal, type) {
    return signal.inputTypes.includes("*") || (type !== null && signal.inputTypes.includes(type));
  }

  function outputOf(leaf, signal) {
    if (!signal) return null;
    return (leaf.subcategory && signal.subcategoryOutputs[leaf.subcategory]) || signal.output;
  }

  function directKind(type) {
    // What a leaf without a signal can compare: the value itself.
    if (type === "NUMBER") return "NUMBER";
    if (type === "BOOLEAN") return "BOOLEAN";
    if (TEXT_TYPES.includes(type)) return "STRING";
    return null;
  }

  // --- Errors -----------------------------------------------------------------------------

  function jsonPath(path) {
    let text = "condition";
    let node = root;
    for (const i of path) {
      text += `.${node.op}[${i}]`;
      node = node.children[i];
    }
    return text;
  }

  function errorsFor(path) {
    // {key: [messages]} for the node at `path` ("" = the node itself), from the errors whose
    // path is this node's, or this node's plus a key (`.banks[0]`, `.threshold`).
    const base = jsonPath(path);
    const node = nodeAt(path);
    const found = {};
    for (const error of errors) {
      let rest = null;
      if (error.path === base) rest = "";
      else if (error.path.startsWith(base + ".")) rest = error.path.slice(base.length + 1);
      if (rest === null) continue;
      if (node.op && rest.startsWith(node.op + "[")) continue; // a child's
      const key = rest.replace(/\[.*$/, "").split(".")[0];
      (found[key] = found[key] || []).push(error.message);
    }
    return found;
  }

  // --- Rendering --------------------------------------------------------------------------

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function describe(path) {
    if (!path.length) return "the top group";
    return path.map((i) => i + 1).join(".");
  }

  function control(path, key, label, input, messages, help) {
    // A labelled control of a node, marked with the validator's messages for its key.
    const id = `cb-${++uid}`;
    input.id = id;
    input.dataset.focus = `${path.join(".")}|${key}`;
    const box = el("div", { class: "builder__field" + (messages ? " field--invalid" : "") },
      el("label", { for: id, text: label }), input);
    const described = [];
    if (help) {
      const helpId = id + "-help";
      box.append(el("p", { class: "field__help", id: helpId, text: help }));
      described.push(helpId);
    }
    if (messages) {
      const errorId = id + "-error";
      box.append(el("p", { class: "errorlist", id: errorId, text: messages.join(" ") }));
      described.push(errorId);
      input.setAttribute("aria-invalid", "true");
    }
    if (described.length) input.setAttribute("aria-describedby", described.join(" "));
    return box;
  }

  function select(options, value, onchange) {
    const node = el("select", { onchange });
    for (const option of options) {
      if (option.group) {
        const group = el("optgroup", { label: option.group });
        for (const child of option.options) group.append(optionEl(child, value));
        node.append(group);
      } else {
        node.append(optionEl(option, value));
      }
    }
    return node;
  }

  function optionEl(option, value) {
    const node = el("option", { value: option.value, text: option.label });
    if (option.disabled) node.disabled = true;
    if (option.title) node.title = option.title;
    if (String(option.value) === String(value ?? "")) node.selected = true;
    return node;
  }

  function changed(structure = true) {
    write();
    if (structure) render();
    target.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function moveButtons(path, siblings, noun) {
    const i = path[path.length - 1];
    const parentPath = path.slice(0, -1);
    const where = `${noun} ${describe(path)}`;
    const move = (delta) => () => {
      const list = nodeAt(parentPath).children;
      [list[i], list[i + delta]] = [list[i + delta], list[i]];
      focusKey = `${[...parentPath, i + delta].join(".")}|${delta < 0 ? "up" : "down"}`;
      changed();
    };
    const up = el("button", { type: "button", class: "button button--small", text: "↑ Up",
      "aria-label": `Move ${where} up`, disabled: i === 0, onclick: move(-1) });
    up.dataset.focus = `${path.join(".")}|up`;
    const down = el("button", { type: "button", class: "button button--small", text: "↓ Down",
      "aria-label": `Move ${where} down`, disabled: i === siblings - 1, onclick: move(1) });
    down.dataset.focus = `${path.join(".")}|down`;
    const remove = el("button", { type: "button", class: "button button--small button--danger",
      text: "Remove", "aria-label": `Remove ${where}`, onclick: () => {
        nodeAt(parentPath).children.splice(i, 1);
        const left = nodeAt(parentPath).children.length;
        focusKey = left ? `${[...parentPath, Math.min(i, left - 1)].join(".")}|first`
          : `${parentPath.join(".")}|add-leaf`;
        changed();
      } });
    remove.dataset.focus = `${path.join(".")}|remove`;
    return el("div", { class: "builder__tools" }, up, down, remove);
  }

  function renderGroup(node, path, siblings) {
    const own = errorsFor(path);
    const legendId = `cb-${++uid}`;
    const box = el("div", { class: "builder__group", role: "group", "aria-labelledby": legendId });
    box.dataset.path = jsonPath(path);
    const op = select(OPERATORS.map(([value, label]) => ({ value, label })), node.op, (event) => {
      node.op = event.target.value;
      focusKey = `${path.join(".")}|op`;
      changed();
    });
    const head = el("div", { class: "builder__head" },
      el("span", { class: "builder__title", id: legendId,
        text: path.length ? `Group ${describe(path)}` : "Condition" }),
      control(path, "op", "Passes when", op, own[node.op] || null));
    if (path.length) head.append(moveButtons(path, siblings, "group"));
    box.append(head);
    if (own[""]) box.append(el("p", { class: "errorlist", role: "alert", text: own[""].join(" ") }));
    const list = el("ol", { class: "builder__children" });
    node.children.forEach((child, i) => {
      const childPath = [...path, i];
      list.append(el("li", {}, child.op
        ? renderGroup(child, childPath, node.children.length)
        : renderLeaf(child, childPath, node.children.length)));
    });
    if (!node.children.length) {
      list.append(el("li", { class: "muted",
        text: node.op === "all" ? "No conditions: passes on every item." : "No conditions: never passes." }));
    }
    box.append(list);
    const name = path.length ? `group ${describe(path)}` : "the top group";
    const addLeaf = el("button", { type: "button", class: "button button--small",
      text: "+ Condition", "aria-label": `Add a condition to ${name}`, onclick: () => {
        node.children.push({ input: "" });
        focusKey = `${[...path, node.children.length - 1].join(".")}|input`;
        changed();
      } });
    addLeaf.dataset.focus = `${path.join(".")}|add-leaf`;
    const addGroup = el("button", { type: "button", class: "button button--small",
      text: "+ Group", "aria-label": `Add a group to ${name}`, onclick: () => {
        node.children.push({ op: "any", children: [{ input: "" }] });
        focusKey = `${[...path, node.children.length - 1].join(".")}|op`;
        changed();
      } });
    addGroup.dataset.focus = `${path.join(".")}|add-group`;
    box.append(el("div", { class: "builder__add" }, addLeaf, addGroup));
    return box;
  }

  function inputOptions(leaf) {
    const fields = fieldsOffered().map((f) => ({
      value: "field:" + f.name,
      label: `${f.name} (${f.type}${f.container ? " " + f.container.toLowerCase() : ""})`,
    }));
    const key = inputKey(leaf.input);
    if (key.startsWith("field:") && !fields.some((f) => f.value === key)) {
      fields.push({ value: key, label: `${key.slice(6)} (not in the chosen item types)` });
    }
    const types = chosenTypes();
    const derived = catalog.inputs.map((i) => {
      const unavailable = i.value === "AUTHOR" && !types.some((t) => t.roles && t.roles.creatorId);
      return {
        value: i.value,
        label: unavailable ? `${i.label} (needs an item type with a creatorId role)` : i.label,
        disabled: unavailable && key !== i.value,
      };
    });
    return [
      { value: "", label: "Choose an input…" },
      { group: "Fields", options: fields },
      { group: "Derived inputs", options: derived },
    ];
  }

  function signalOptions(leaf, type) {
    const automated = hasActions();
    const options = [{ value: "", label: "No signal: compare the value itself" }];
    for (const signal of catalog.signals) {
      if (!accepts(signal, type) && signal.id !== leaf.signal) continue;
      let label = signal.name;
      let disabled = false;
      if (!signal.enabled) {
        label += ` (unavailable: ${signal.disabledReason})`;
        disabled = signal.id !== leaf.signal;
      } else if (automated && !signal.automated) {
        label += " (not allowed in rules with actions)";
      }
      options.push({ value: signal.id, label, disabled, title: signal.description });
    }
    return options;
  }

  function renderLeaf(leaf, path, siblings) {
    const own = errorsFor(path);
    const titleId = `cb-${++uid}`;
    const box = el("div", { class: "builder__leaf", role: "group", "aria-labelledby": titleId });
    box.dataset.path = jsonPath(path);
    const update = (key, structure = true) => (event) => {
      const value = event.target.value;
      if (value === "") delete leaf[key];
      else leaf[key] = value;
      focusKey = `${path.join(".")}|${key}`;
      changed(structure);
    };
    const title = el("span", { class: "builder__title", id: titleId, text: `Condition ${describe(path)}` });
    box.append(el("div", { class: "builder__head" }, title, moveButtons(path, siblings, "condition")));
    if (own[""]) box.append(el("p", { class: "errorlist", role: "alert", text: own[""].join(" ") }));
    const row = el("div", { class: "builder__row" });
    box.append(row);

    const input = select(inputOptions(leaf), inputKey(leaf.input), (event) => {
      const value = event.target.value;
      leaf.input = value.startsWith("field:") ? { field: value.slice(6) } : value;
      const signal = signalFor(leaf.signal);
      if (signal && !accepts(signal, inputType(leaf.input))) {
        for (const key of ["signal", "subcategory", "values", "banks", "substring", "comparator", "threshold"]) delete leaf[key];
      }
      focusKey = `${path.join(".")}|input`;
      changed();
    });
    row.append(control(path, "input", "Input", input, own.input || null));
    const type = inputType(leaf.input);
    if (leaf.comparator === "IS_NOT_PROVIDED") {
      row.append(comparatorControl(leaf, path, own, [{ value: "IS_NOT_PROVIDED", label: "is not provided" }, { value: "", label: "use a comparison instead" }]));
      return box;
    }
    const signal = signalFor(leaf.signal);
    const signalSelect = select(signalOptions(leaf, type), leaf.signal || "", (event) => {
      for (const key of ["subcategory", "values", "banks", "substring", "comparator", "threshold"]) delete leaf[key];
      update("signal")(event);
    });
    row.append(control(path, "signal", "Signal", signalSelect, own.signal || null,
      signal ? signal.description : null));
    if (signal) renderSignalParts(leaf, path, own, signal, row);
    else renderDirect(leaf, path, own, type, row);
    return box;
  }

  function renderSignalParts(leaf, path, own, signal, row) {
    if (signal.subcategoryMode === "CHOICE") {
      const options = [{ value: "", label: "Choose…" }, ...signal.subcategories.map((s) => ({ value: s, label: s }))];
      row.append(control(path, "subcategory", "Subcategory", select(options, leaf.subcategory, (event) => {
        if (event.target.value) leaf.subcategory = event.target.value; else delete leaf.subcategory;
        focusKey = `${path.join(".")}|subcategory`;
        changed();
      }), own.subcategory || null));
    } else if (signal.subcategoryMode === "FREE") {
      const text = el("input", { type: "text", value: leaf.subcategory || "" });
      text.addEventListener("input", () => { if (text.value) leaf.subcategory = text.value; else delete leaf.subcategory; write(); });
      row.append(control(path, "subcategory", "Subcategory", text, own.subcategory || null));
    }
    if (signal.bankKinds.length) {
      const banks = catalog.banks.filter((b) => signal.bankKinds.includes(b.kind));
      const chosen = leaf.banks || [];
      const legend = el("legend", { text: `Banks (${signal.bankKinds.join(" or ")})` });
      const set = el("fieldset", { class: "builder__banks" + (own.banks ? " field--invalid" : "") }, legend);
      if (!banks.length) set.append(el("p", { class: "muted", text: "No bank of this kind yet." }));
      for (const bank of banks) {
        const box = el("input", { type: "checkbox", value: bank.id });
        box.checked = chosen.includes(bank.id);
        box.dataset.focus = `${path.join(".")}|bank-${bank.id}`;
        box.addEventListener("change", () => {
          const now = new Set(leaf.banks || []);
          if (box.checked) now.add(bank.id); else now.delete(bank.id);
          leaf.banks = banks.map((b) => b.id).filter((id) => now.has(id))
            .concat([...now].filter((id) => !banks.some((b) => b.id === id)));
          focusKey = box.dataset.focus;
          changed();
        });
        set.append(el("label", { class: "choice" }, box, ` ${bank.name}`));
      }
      for (const id of chosen.filter((id) => !banks.some((b) => b.id === id))) {
        set.append(el("span", { class: "chip", text: `${id} (unknown or of another kind)` }));
      }
      if (own.banks) set.append(el("p", { class: "errorlist", text: own.banks.join(" ") }));
      row.append(set);
    }
    if (signal.valueKind) {
      const lines = (leaf.values || []).map((v) => (typeof v === "string" ? v : JSON.stringify(v)));
      const area = el("textarea", { rows: "3", spellcheck: "false" });
      area.value = lines.join("\n");
      area.addEventListener("input", () => {
        leaf.values = area.value.split("\n").map((line) => line.trim()).filter(Boolean).map((line) => {
          if (signal.valueKind === "LOCATION" && line.startsWith("{")) {
            try { return JSON.parse(line); } catch { return line; }
          }
          return signal.valueKind === "LOCATION" ? { geohash: line } : line;
        });
        write();
      });
      const help = {
        TEXT: "One per line.",
        REGEX: "One RE2 pattern per line (case-insensitive).",
        LOCATION: 'One per line: a geohash, or JSON like {"lat": 37.87, "lng": -122.26, "radiusMiles": 0.5}.',
      }[signal.valueKind] || "One per line.";
      row.append(control(path, "values", signal.bankKinds.length ? "Or values" : "Values", area, own.values || null, help));
    }
    if (signal.options.includes("substring")) {
      const box = el("input", { type: "checkbox" });
      box.checked = leaf.substring === true;
      box.dataset.focus = `${path.join(".")}|substring`;
      box.addEventListener("change", () => {
        if (box.checked) leaf.substring = true; else delete leaf.substring;
        focusKey = box.dataset.focus;
        changed();
      });
      row.append(el("label", { class: "choice builder__check" }, box, " Match inside words too (substring)"));
    }
    const output = outputOf(leaf, signal);
    if (output === "BOOLEAN") {
      row.append(comparatorControl(leaf, path, own, [
        { value: "", label: "passes when the signal matches" },
        { value: "IS_UNAVAILABLE", label: "passes when the signal is unavailable" },
      ]));
      return;
    }
    const comparators = [{ value: "", label: "Choose…" }, ...catalog.comparators
      .filter((c) => VALUE_COMPARATORS.includes(c.value) || c.value === "IS_UNAVAILABLE")];
    row.append(comparatorControl(leaf, path, own, comparators));
    if (signal.recommended) row.append(recommendedControl(leaf, path, signal.recommended));
    if (!leaf.comparator || leaf.comparator === "IS_UNAVAILABLE") return;
    if (output === "ORDERED_ENUM") {
      const options = [{ value: "", label: "Choose…" }, ...signal.enumValues.map((v) => ({ value: v, label: v }))];
      row.append(control(path, "threshold", "Threshold", select(options, leaf.threshold, (event) => {
        if (event.target.value) leaf.threshold = event.target.value; else delete leaf.threshold;
        focusKey = `${path.join(".")}|threshold`;
        changed();
      }), own.threshold || null, `Ordered ${signal.enumValues.join(" < ")}`));
      return;
    }
    const range = signal.range ? `A score from ${signal.range[0]} to ${signal.range[1]}.` : null;
    row.append(thresholdControl(leaf, path, own, output === "NUMBER" ? "NUMBER" : "STRING", range, signal.range));
  }

  function renderDirect(leaf, path, own, type, row) {
    const kind = directKind(type);
    const comparators = [{ value: "", label: "Choose…" }];
    if (kind === "BOOLEAN") comparators.push(...catalog.comparators.filter((c) => ["EQUALS", "NOT_EQUAL_TO"].includes(c.value)));
    else if (kind) comparators.push(...catalog.comparators.filter((c) => VALUE_COMPARATORS.includes(c.value)));
    comparators.push({ value: "IS_NOT_PROVIDED", label: "is not provided" });
    row.append(comparatorControl(leaf, path, own, comparators));
    if (!leaf.comparator || leaf.comparator === "IS_NOT_PROVIDED") return;
    if (kind === "BOOLEAN") {
      const value = leaf.threshold === true ? "true" : leaf.threshold === false ? "false" : "";
      row.append(control(path, "threshold", "Value", select(
        [{ value: "", label: "Choose…" }, { value: "true", label: "true" }, { value: "false", label: "false" }], value,
        (event) => {
          if (event.target.value) leaf.threshold = event.target.value === "true"; else delete leaf.threshold;
          focusKey = `${path.join(".")}|threshold`;
          changed();
        }), own.threshold || null));
      return;
    }
    row.append(thresholdControl(leaf, path, own, kind || "STRING", null, null));
  }

  function recommendedControl(leaf, path, recommended) {
    // The signal's recommended thresholds, each one click (or Enter) away: "≥ value".
    const box = el("div", { class: "builder__recommended", role: "group",
      "aria-label": "Recommended values" }, el("span", { text: "Recommended:" }));
    for (const [key, label] of [["precision", "high precision"], ["recall", "high recall"]]) {
      const value = recommended[key];
      const chosen = leaf.comparator === "GREATER_THAN_OR_EQUALS" && leaf.threshold === value;
      const button = el("button", { type: "button", class: "button button--small",
        text: `≥ ${value} (${label})`, "aria-pressed": chosen ? "true" : "false" });
      button.dataset.focus = `${path.join(".")}|recommended-${key}`;
      button.addEventListener("click", () => {
        leaf.comparator = "GREATER_THAN_OR_EQUALS";
        leaf.threshold = value;
        focusKey = button.dataset.focus;
        changed();
      });
      box.append(button);
    }
    return box;
  }

  function comparatorControl(leaf, path, own, options) {
    return control(path, "comparator", "Comparison", select(options, leaf.comparator || "", (event) => {
      const value = event.target.value;
      if (value) leaf.comparator = value; else delete leaf.comparator;
      if (value === "IS_NOT_PROVIDED") {
        for (const key of ["signal", "subcategory", "values", "banks", "substring", "threshold"]) delete leaf[key];
      }
      if (value === "IS_UNAVAILABLE" || !value) delete leaf.threshold;
      focusKey = `${path.join(".")}|comparator`;
      changed();
    }), own.comparator || null);
  }

  function thresholdControl(leaf, path, own, kind, help, range) {
    const input = el("input", { type: "text", inputmode: kind === "NUMBER" ? "decimal" : null,
      value: leaf.threshold === undefined ? "" : String(leaf.threshold) });
    input.addEventListener("input", () => {
      const text = input.value.trim();
      if (!text) delete leaf.threshold;
      else if (kind === "NUMBER" && text !== "" && Number.isFinite(Number(text))) leaf.threshold = Number(text);
      else leaf.threshold = text;
      write();
    });
    if (range) {
      input.setAttribute("placeholder", `${range[0]}–${range[1]}`);
    }
    return control(path, "threshold", kind === "NUMBER" ? "Threshold" : "Value", input, own.threshold || null, help);
  }

  function render() {
    const active = document.activeElement;
    const key = focusKey || (active && container.contains(active) ? active.dataset.focus : null);
    uid = 0;
    container.replaceChildren(renderGroup(root, [], 1));
    focusKey = null;
    if (key) {
      const [path, name] = key.split("|");
      let found = container.querySelector(`[data-focus="${CSS.escape(key)}"]`);
      if (!found && name === "first") {
        found = container.querySelector(`[data-focus^="${CSS.escape(path + "|")}"]`);
      }
      if (!found && (name === "up" || name === "down")) {
        found = container.querySelector(`[data-focus="${CSS.escape(path + "|remove")}"]`);
      }
      if (found && !found.disabled) found.focus();
      else if (found) {
        const sibling = container.querySelector(`[data-focus="${CSS.escape(path + (name === "up" ? "|down" : "|up"))}"]`);
        if (sibling) sibling.focus();
      }
    }
  }

  // --- Loading and server messages ----------------------------------------------------------

  function loadFromText() {
    let data;
    try {
      data = JSON.parse(target.value || '{"all": []}');
      const model = fromJson(data);
      root = model.op ? model : { op: "all", children: [model] };
    } catch {
      container.replaceChildren(el("p", { class: "form-error", role: "alert",
        text: "The builder cannot show this condition; edit it as JSON below." }));
      root = null;
      return false;
    }
    return true;
  }

  function readErrors(scope) {
    const script = scope.querySelector('script[type="application/json"]');
    if (!script) return;
    try { errors = JSON.parse(script.textContent); } catch { errors = []; }
    if (root) render();
  }

  function start() {
    container = document.getElementById("condition-builder");
    const data = document.getElementById("builder-catalog");
    if (!container || !data) return;
    catalog = JSON.parse(data.textContent);
    target = document.getElementById(container.dataset.target);
    document.documentElement.classList.add("js-builder");
    const validation = document.getElementById("rule-validation");
    if (loadFromText()) render();
    if (validation) readErrors(validation);
    target.addEventListener("change", (event) => {
      if (event.isTrusted && loadFromText()) render();
    });
    document.addEventListener("change", (event) => {
      if (event.target.matches('#rule-item-types input, input[name="actions"]') && root) render();
    });
    document.body.addEventListener("htmx:afterSwap", (event) => {
      const swapped = event.detail.target;
      if (swapped.id === "rule-validation" || swapped.id === "spot-result") readErrors(swapped);
    });
  }

  // --- The spot test's item: by id, or pasted JSON ------------------------------------------

  function spotSource() {
    for (const form of document.querySelectorAll(".spot-inputs")) {
      const json = form.querySelector('input[name="spot_source"][value="json"]');
      const area = form.querySelector(".spot-json");
      if (json && area) area.hidden = !json.checked;
    }
  }

  document.addEventListener("change", (event) => {
    if (event.target.name === "spot_source") spotSource();
  });

  document.addEventListener("DOMContentLoaded", () => {
    start();
    spotSource();
  });
})();

// Shared by the editors (prepended to each editor's module by Python; no imports, no CDN).
function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "className") node.className = v;
    else if (k === "dataset") Object.assign(node.dataset, v);
    else if (k === "value") node.value = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

// Commands go as custom messages: unlike trait updates, ipywidgets never merges them, so
// quick edits in a row all reach the kernel, in order.
function makeSender(model) {
  let nextId = Date.now() * 1000;
  return (command) => {
    model.send({ kind: "shotbook-command", command: { id: ++nextId, ...command } });
  };
}

// A text input that sends its value after a pause in typing and at once on Enter / blur.
// `key` identifies it across re-renders (focus and typed text survive an update).
function textInput({ key, value, invalid, placeholder, className, delay, onsend, title }) {
  const shown = invalid ? invalid.text : value;
  const input = h("input", {
    type: "text", className: `sb-input ${className || ""} ${invalid ? "sb-invalid" : ""}`,
    value: shown ?? "", placeholder, title: invalid ? invalid.message : title,
    dataset: { key, sent: shown ?? "" },
  });
  let timer = null;
  const send = () => {
    clearTimeout(timer);
    timer = null;
    if (input.dataset.replaced) return; // a re-render took it out: its copy carries the text
    if (input.value === input.dataset.sent) return;
    input.dataset.sent = input.value;
    onsend(input.value);
  };
  input.addEventListener("input", () => {
    clearTimeout(timer);
    if (delay !== 0) timer = setTimeout(send, delay ?? 600);
  });
  input.addEventListener("change", send);
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") { event.preventDefault(); send(); }
    if (event.key === "Escape") { input.value = input.dataset.sent; }
  });
  return input;
}

// Re-render `root` with `build()` keeping the focused input (by data-key), its caret and any
// text typed but not yet sent.
function rerender(root, build) {
  const active = root.contains(document.activeElement) ? document.activeElement : null;
  const key = active?.dataset?.key;
  const typed = active && active.value !== active.dataset.sent ? active.value : null;
  const caret = active && typeof active.selectionStart === "number" ? active.selectionStart : null;
  const nodes = [build()].flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false);
  // Chrome fires "change" on a focused input it removes: that must not send half-typed text
  if (active) active.dataset.replaced = "1";
  root.replaceChildren(...nodes);
  if (!key) return;
  const again = root.querySelector(`[data-key="${CSS.escape(key)}"]`);
  if (!again) return;
  if (typed !== null) {
    again.value = typed;
    again.dispatchEvent(new Event("input")); // its own pause-then-send timer takes over
  }
  again.focus();
  if (caret !== null && again.setSelectionRange) {
    try { again.setSelectionRange(caret, caret); } catch (e) { /* not a text input */ }
  }
}

// Ctrl+Z / Ctrl+Y (Cmd on a Mac; Ctrl+Shift+Z redoes) undo and redo the editor's history
// from anywhere in it but a text field, where they undo the typing as usual.
function undoKeys(el, send) {
  el.tabIndex = -1; // a click anywhere in the editor gives it the keys
  el.addEventListener("keydown", (event) => {
    if (!(event.ctrlKey || event.metaKey) || event.altKey) return;
    const key = event.key.toLowerCase();
    if (key !== "z" && key !== "y") return;
    const target = event.target;
    if (target.matches && target.matches("input[type=text], input:not([type]), textarea")) return;
    event.preventDefault();
    event.stopPropagation(); // not JupyterLab's notebook undo
    send({ action: key === "y" || event.shiftKey ? "redo" : "undo" });
  });
}

function statusLine(model) {
  const s = model.get("status") || {};
  return h("div", { className: `sb-status ${s.ok === false ? "sb-error" : ""}` }, s.message || "");
}

function toolbar(model, send, ...extra) {
  return h("div", { className: "sb-toolbar" },
    h("button", { className: "sb-button sb-undo", disabled: !model.get("can_undo"),
      title: "Undo the newest edit (Ctrl+Z); the history is kept while the kernel runs, lost on a restart",
      onclick: () => send({ action: "undo" }) }, "↶ Undo"),
    h("button", { className: "sb-button sb-redo", disabled: !model.get("can_redo"),
      title: "Redo (Ctrl+Y)", onclick: () => send({ action: "redo" }) }, "↷ Redo"),
    h("button", { className: "sb-button sb-reload", title: "Reload from the store",
      onclick: () => send({ action: "reload" }) }, "⟳"),
    ...extra,
  );
}

// A sequence that is not a draft shows read-only at once: a bar says why, with the ways out
// at hand, and every field and button but Reload is disabled (see lockReadOnly).
function readOnlyBar(model, send) {
  if (!model.get("read_only")) return null;
  const reset = h("button", { className: "sb-button sb-reset-draft",
    title: "delete the shots of this sequence and make it a draft again (asks first)" }, "Reset to draft");
  reset.addEventListener("click", () => {
    if (reset.dataset.armed) { send({ action: "request", request: "reset" }); return; }
    reset.dataset.armed = "1";
    reset.textContent = "Confirm: delete its shots";
  });
  return h("div", { className: "sb-readonly-bar" },
    h("span", { className: "sb-readonly" }, "read-only: " + model.get("read_only_reason")),
    reset,
    h("button", { className: "sb-button sb-duplicate-draft",
      title: "copy this sequence as a new draft beside it and edit the copy",
      onclick: () => send({ action: "request", request: "duplicate" }) }, "Duplicate to edit"));
}

function lockReadOnly(root, model) {
  const locked = !!model.get("read_only");
  root.classList.toggle("sb-locked", locked);
  if (!locked) return;
  for (const node of root.querySelectorAll("input, select, textarea, button")) {
    if (node.closest(".sb-readonly-bar") || node.classList.contains("sb-reload")) continue;
    node.disabled = true;
  }
}

function problemList(problems, invalid) {
  const unsaved = Object.keys(invalid || {}).length;
  if ((!problems || !problems.length) && unsaved) {
    return h("div", { className: "sb-problems" },
      `⚠ ${unsaved} edit${unsaved === 1 ? " was" : "s were"} not saved (marked ✗ above)`);
  }
  if (!problems || !problems.length) return h("div", { className: "sb-problems sb-ok" }, "✓ no problem found");
  return h("div", { className: "sb-problems" },
    h("div", { className: "sb-problems-title" }, `⚠ ${problems.length} problem${problems.length === 1 ? "" : "s"}`),
    h("ul", {}, problems.map((p) => h("li", {}, p.message))));
}

function invalidList(invalid) {
  const entries = Object.values(invalid || {});
  if (!entries.length) return null;
  return h("div", { className: "sb-invalid-list" },
    entries.map((e) => h("pre", { className: "sb-invalid-message" }, `✗ ${e.text}: ${e.message}`)));
}

function watch(model, names, update) {
  for (const n of names) model.on(`change:${n}`, update);
  return () => { for (const n of names) model.off(`change:${n}`, update); };
}

// Scan editor: the steps tree (declarations, linspace / arange loops, shots).
const FIELDS = { variable: ["variable", "value"], linspace: ["variable", "start", "stop", "num"],
  arange: ["variable", "start", "stop", "step"], shot: [] };
const WORDS = { variable: ["", "="], linspace: ["for", "=", "to", "points:"], arange: ["for", "=", "to", "step"] };

function render({ model, el }) {
  el.classList.add("sb-editor", "sb-scan-editor");
  guardKeys(el);
  const send = makeSender(model);
  undoKeys(el, send);

  function problemAt(path) {
    for (const p of model.get("problems") || []) {
      if (p.step && p.step.join(".") === path.join(".")) return p.message;
    }
    return null;
  }

  function stepRow(step, path, siblings) {
    const label = path.map((i) => i + 1).join(".");
    const invalid = model.get("invalid") || {};
    const index = path[path.length - 1];
    const parent = path.slice(0, -1);
    const previous = index > 0 ? siblings[index - 1] : null;
    const parts = [h("span", { className: "sb-step-kind" }, step.kind === "shot" ? "▶ shot" : step.kind)];
    (FIELDS[step.kind] || []).forEach((field, i) => {
      const word = (WORDS[step.kind] || [])[i];
      if (word) parts.push(h("span", {}, word));
      parts.push(textInput({ key: `${label}/${field}`, value: String(step[field]), invalid: invalid[`${label}/${field}`],
        className: `sb-field-${field}`, onsend: (v) => send({ action: "set_field", path, field, value: v }) }));
    });
    const act = (title, text, command, disabled) => h("button", { className: "sb-mini", title, disabled, onclick: () => send(command) }, text);
    parts.push(
      act("Move up", "↑", { action: "move", path, to: [...parent, index - 1] }, index === 0),
      act("Move down", "↓", { action: "move", path, to: [...parent, index + 1] }, index === siblings.length - 1),
      act("Into the loop above", "→", { action: "move", path, to: [...parent, index - 1, previous && previous.children ? previous.children.length : 0] },
        !(previous && previous.children)),
      act("Out of its loop", "←", { action: "move", path, to: [...parent.slice(0, -1), parent[parent.length - 1] + 1] }, parent.length === 0),
      act("Copy", "⧉", { action: "copy", path }),
      act("Paste after", "⎘", { action: "paste", path: [...parent, index + 1] }, !(model.get("view") || {}).clipboard),
      act("Remove", "✕", { action: "remove", path }));
    const problem = problemAt(path);
    const li = h("li", { dataset: { path: label } },
      h("div", { className: `sb-step ${problem ? "sb-step-problem" : ""}`, title: problem || "" }, parts));
    if (problem) li.append(h("div", { className: "sb-step-problem-text" }, problem));
    if (step.children) li.append(level(step.children, path));
    return li;
  }

  function adders(path) {
    return h("li", { className: "sb-adders" }, ["variable", "linspace", "arange", "shot"].map((kind) =>
      h("button", { className: `sb-mini sb-add-${kind}`, onclick: () => send({ action: "insert", path, kind }) }, `+ ${kind}`)));
  }

  function level(steps, parent) {
    return h("ul", { className: `sb-tree ${parent.length ? "" : "sb-tree-root"}` },
      steps.map((s, i) => stepRow(s, [...parent, i], steps)), adders([...parent, steps.length]));
  }

  function build() {
    const view = model.get("view") || { steps: [] };
    const shots = model.get("expected_shots");
    return [readOnlyBar(model, send), toolbar(model, send, h("span", { className: "sb-shots" }, shots >= 0 ? `${shots} shot${shots === 1 ? "" : "s"}` : "shots known at run time")),
      level(view.steps, []), invalidList(model.get("invalid")), problemList(model.get("problems"), model.get("invalid")), statusLine(model)];
  }

  function update() { rerender(el, build); lockReadOnly(el, model); el.dataset.version = model.get("version"); }
  const off = watch(model, ["view", "status", "invalid", "problems", "read_only", "read_only_reason", "can_undo", "can_redo", "expected_shots"], update);
  update();
  return off;
}

export default { render };

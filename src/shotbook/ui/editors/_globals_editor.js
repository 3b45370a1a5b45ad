// Globals editor: namespaces and parameters as rows (name = expression → value).
function render({ model, el }) {
  el.classList.add("sb-editor", "sb-globals-editor");
  guardKeys(el);
  const send = makeSender(model);
  undoKeys(el, send);

  function adder(parent) {
    const name = h("input", { type: "text", className: "sb-input sb-new-name", placeholder: "name", dataset: { key: `new/${parent.join(".")}` } });
    const value = h("input", { type: "text", className: "sb-input sb-new-value", placeholder: "expression" });
    const add = (kind) => { if (name.value.trim()) send({ action: "add", parent, name: name.value, kind, value: value.value }); };
    return h("tr", { className: "sb-adder" }, h("td", { style: `padding-left:${parent.length * 16 + 6}px` }, name),
      h("td", {}, value), h("td", { colspan: "2" },
        h("button", { className: "sb-mini sb-add-parameter", onclick: () => add("parameter") }, "+ parameter"),
        h("button", { className: "sb-mini sb-add-namespace", onclick: () => add("namespace") }, "+ namespace")));
  }

  function build() {
    const rows = (model.get("view") || {}).rows || [];
    const invalid = model.get("invalid") || {};
    const body = [];
    rows.forEach((row, i) => {
      const indent = `padding-left:${row.depth * 16 + 6}px`;
      const name = textInput({ key: `rename/${row.name}`, value: row.label, invalid: invalid[`rename/${row.name}`], delay: 0,
        className: "sb-global-name", onsend: (v) => send({ action: "rename", key: row.key, new: v }) });
      const buttons = h("td", {},
        h("button", { className: "sb-mini", title: "Move up", onclick: () => send({ action: "move", key: row.key, to: Math.max(0, siblingIndex(rows, i) - 1) }) }, "↑"),
        h("button", { className: "sb-mini", title: "Move down", onclick: () => send({ action: "move", key: row.key, to: siblingIndex(rows, i) + 1 }) }, "↓"),
        h("button", { className: "sb-mini sb-remove", title: "Remove", onclick: () => send({ action: "remove", key: row.key }) }, "✕"));
      if (row.kind === "namespace") {
        body.push(h("tr", { className: "sb-namespace", dataset: { name: row.name } }, h("td", { style: indent }, "▾ ", name), h("td", {}), h("td", {}), buttons));
        const next = rows.slice(i + 1).findIndex((r) => r.depth <= row.depth);
        const end = next < 0 ? rows.length : i + 1 + next;
        // the adder goes after the namespace's last row
        body.push({ after: end, parent: row.key });
      } else {
        const bad = invalid[`set_expression/${row.name}`];
        body.push(h("tr", { className: "sb-parameter", dataset: { name: row.name } },
          h("td", { style: indent }, name),
          h("td", {}, textInput({ key: `set_expression/${row.name}`, value: row.expression, invalid: bad, className: "sb-global-expression",
            onsend: (v) => send({ action: "set_expression", key: row.key, value: v }) })),
          h("td", { className: row.error ? "sb-row-error" : "sb-value" }, row.error || row.value),
          buttons));
      }
    });
    // place the namespace adders after their last row
    const out = [];
    const pending = body.filter((b) => !(b instanceof Node));
    let rowIndex = 0;
    for (const item of body) {
      if (!(item instanceof Node)) continue;
      out.push(item);
      rowIndex += 1;
      for (const p of pending) if (p.after === rowIndex) out.push(adder(p.parent));
    }
    for (const p of pending) if (p.after === 0) out.push(adder(p.parent));
    out.push(adder([]));
    return [toolbar(model, send), h("table", { className: "sb-globals" },
      h("thead", {}, h("tr", {}, h("th", {}, "name"), h("th", {}, "expression"), h("th", {}, "value"), h("th", {}))),
      h("tbody", {}, out)), invalidList(model.get("invalid")), problemList(model.get("problems"), model.get("invalid")), statusLine(model)];
  }

  function siblingIndex(rows, i) {
    let n = 0;
    for (let j = 0; j < i; j++) {
      if (rows[j].depth === rows[i].depth && rows[j].key.slice(0, -1).join(".") === rows[i].key.slice(0, -1).join(".")) n++;
    }
    return n;
  }

  function update() { rerender(el, build); el.dataset.version = model.get("version"); }
  const off = watch(model, ["view", "status", "invalid", "problems", "can_undo", "can_redo"], update);
  update();
  return off;
}

export default { render };

// Sequences browser: folder tree + sortable columns, actions sent as commands to Python.
const COLUMNS = [
  ["name", "Name"], ["state", "State"], ["shots", "Shots"], ["duration", "Duration"],
  ["ran_by", "Ran by"], ["created", "Created"],
];

function baseName(path) {
  const i = path.lastIndexOf("/");
  return path.slice(i + 1) || "/";
}
function parentOf(path) {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}
function depthOf(path) {
  return path.split("/").length - 2;
}
function fmtDuration(s) {
  if (s === null || s === undefined || !isFinite(s)) return "";
  if (s < 60) return `${s.toFixed(1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
}
function fmtDate(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  const p = (n) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}
function durationOf(row) {
  if (row.duration !== null && row.duration !== undefined) return row.duration;
  if ((row.state === "running" || row.state === "preparing") && row.started) {
    return Math.max(0, (Date.now() - new Date(row.started).getTime()) / 1000);
  }
  return null;
}
function shotsText(row) {
  if (row.kind !== "sequence") return "";
  return row.expected === null || row.expected === undefined ? `${row.shots}` : `${row.shots} / ${row.expected}`;
}
function sortValue(row, key) {
  switch (key) {
    case "name": return baseName(row.path).toLowerCase();
    case "shots": return row.shots ?? -1;
    case "duration": return durationOf(row) ?? -1;
    default: return row[key] ?? "";
  }
}
function trace(kind, value) {
  const t = globalThis.shotbookTrace;
  if (Array.isArray(t)) t.push({ kind, value, t: Date.now() });
}

function button(text, title, onClick) {
  const b = document.createElement("button");
  b.className = "shotbook-button";
  b.textContent = text;
  b.title = title;
  b.addEventListener("click", onClick);
  return b;
}

function render({ model, el }) {
  el.classList.add("shotbook-browser");
  guardKeys(el);
  let nextId = Date.now() * 1000;
  const send = (action, extra = {}) => {
    model.send({ type: "command", command: { id: ++nextId, action, ...extra } });
  };
  const collapsed = new Set();
  let sortKey = "name", sortDir = 1;

  // toolbar
  const toolbar = document.createElement("div");
  toolbar.className = "shotbook-toolbar";
  const target = document.createElement("input");
  target.className = "shotbook-path-input";
  target.placeholder = "/folder/new name";
  target.setAttribute("aria-label", "path");
  const pathValue = () => target.value.trim();
  const selected = () => model.get("selected");
  toolbar.append(
    target,
    button("New folder", "create a folder at the path", () => send("new_folder", { path: pathValue() })),
    button("New sequence", "create a draft sequence at the path", () => send("new_sequence", { path: pathValue() })),
    button("Rename / move", "move the selected item to the path", () => send("rename", { path: selected(), destination: pathValue() })),
    button("Duplicate", "copy the selected sequence to the path", () => send("duplicate", { path: selected(), destination: pathValue() })),
    button("Delete", "delete the selected item (asks first)", () => send("delete", { path: selected() })),
    button("Reset to draft", "delete the shots of the selected sequence (asks first)", () => send("reset", { path: selected() })),
    button("↻", "read the store again", () => send("refresh")),
  );

  const confirmBar = document.createElement("div");
  confirmBar.className = "shotbook-confirm";
  const confirmText = document.createElement("span");
  confirmBar.append(
    confirmText,
    button("Confirm", "do it", () => send("confirm", { token: model.get("confirm").token })),
    button("Cancel", "do nothing", () => send("cancel")),
  );
  const statusLine = document.createElement("div");
  statusLine.className = "shotbook-status";

  // table
  const scroller = document.createElement("div");
  scroller.className = "shotbook-table-scroll";
  const table = document.createElement("table");
  table.className = "shotbook-table";
  const thead = document.createElement("thead");
  const headRow = document.createElement("tr");
  for (const [key, title] of COLUMNS) {
    const th = document.createElement("th");
    th.textContent = title;
    th.dataset.key = key;
    th.addEventListener("click", () => {
      sortDir = sortKey === key ? -sortDir : 1;
      sortKey = key;
      layout(true);
    });
    headRow.append(th);
  }
  thead.append(headRow);
  const tbody = document.createElement("tbody");
  table.append(thead, tbody);
  scroller.append(table);

  // notes
  const notesBox = document.createElement("div");
  notesBox.className = "shotbook-notes";
  const notesLabel = document.createElement("div");
  const notes = document.createElement("textarea");
  notes.rows = 3;
  notes.placeholder = "notes of the selected sequence";
  const auditLog = document.createElement("pre");  // the audit log, read-only
  auditLog.className = "shotbook-history";
  notesBox.append(
    notesLabel, notes,
    button("Save notes", "store the notes", () => send("set_notes", { path: selected(), notes: notes.value })),
    auditLog,
  );
  el.append(toolbar, confirmBar, statusLine, scroller, notesBox);

  const trs = new Map();
  let lastOrder = "";

  function makeRow(row) {
    const tr = document.createElement("tr");
    tr.dataset.path = row.path;
    for (let i = 0; i < COLUMNS.length; i++) tr.append(document.createElement("td"));
    tr.addEventListener("click", (event) => {
      const path = tr.dataset.path;
      if (tr.dataset.kind === "folder" && event.target.classList.contains("shotbook-twisty")) {
        collapsed.has(path) ? collapsed.delete(path) : collapsed.add(path);
        layout(true);
        return;
      }
      target.value = tr.dataset.kind === "folder" ? path + "/" : path;
      model.set("selected", path);
      model.save_changes();
      send("select", { path });
    });
    return tr;
  }

  function fill(tr, row) {
    const key = JSON.stringify(row) + (row.state === "running" ? Date.now() : "");
    if (tr._key === key) return;
    tr._key = key;
    tr.dataset.kind = row.kind;
    tr.dataset.state = row.state || "";
    const cells = tr.children;
    const name = cells[0];
    name.textContent = "";
    name.style.paddingLeft = `${0.4 + depthOf(row.path) * 1.1}em`;
    if (row.kind === "folder") {
      const twisty = document.createElement("span");
      twisty.className = "shotbook-twisty";
      twisty.textContent = collapsed.has(row.path) ? "▸ " : "▾ ";
      name.append(twisty);
    }
    name.append(document.createTextNode(baseName(row.path)));
    cells[1].textContent = row.state || "";
    cells[1].className = row.state ? `shotbook-state shotbook-state-${row.state}` : "";
    cells[2].textContent = shotsText(row);
    cells[3].textContent = fmtDuration(durationOf(row));
    cells[4].textContent = row.ran_by || "";
    cells[5].textContent = fmtDate(row.created);
  }

  function ordered(rows) {
    const children = new Map();
    for (const row of rows) {
      const parent = parentOf(row.path);
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(row);
    }
    const out = [];
    const visit = (folder) => {
      const kids = children.get(folder) || [];
      kids.sort((a, b) => {
        if (a.kind !== b.kind) return a.kind === "folder" ? -1 : 1;
        const va = sortValue(a, sortKey), vb = sortValue(b, sortKey);
        return (va < vb ? -1 : va > vb ? 1 : 0) * sortDir;
      });
      for (const kid of kids) {
        out.push(kid);
        if (kid.kind === "folder" && !collapsed.has(kid.path)) visit(kid.path);
      }
    };
    visit("/");
    // rows whose parent folder is not listed still show, at the end
    const shown = new Set(out.map((r) => r.path));
    for (const row of rows) {
      if (!shown.has(row.path) && !isHidden(row.path)) out.push(row);
    }
    return out;
  }
  function isHidden(path) {
    for (let p = parentOf(path); p !== "/"; p = parentOf(p)) if (collapsed.has(p)) return true;
    return false;
  }

  // the rows: the full list, with the rows changed since it was sent (null: removed)
  function currentRows() {
    const updates = model.get("row_updates") || {};
    if (Object.keys(updates).length === 0) return model.get("rows") || [];
    const out = [];
    for (const row of model.get("rows") || []) {
      if (!(row.path in updates)) out.push(row);
    }
    for (const row of Object.values(updates)) if (row) out.push(row);
    return out;
  }

  function layout(force = false) {
    const rows = currentRows();
    const live = new Set(rows.map((r) => r.path));
    for (const [path, tr] of trs) {
      if (!live.has(path)) { tr.remove(); trs.delete(path); }
    }
    const order = ordered(rows);
    for (const row of order) {
      let tr = trs.get(row.path);
      if (!tr) { tr = makeRow(row); trs.set(row.path, tr); }
      if (force) tr._key = null;
      fill(tr, row);
    }
    const orderKey = order.map((r) => r.path).join("\n");
    if (force || orderKey !== lastOrder) {
      const visible = new Set(order.map((r) => r.path));
      for (const [path, tr] of trs) if (!visible.has(path)) tr.remove();
      const frag = document.createDocumentFragment();
      for (const row of order) frag.append(trs.get(row.path));
      tbody.append(frag);
      lastOrder = orderKey;
    }
    for (const th of headRow.children) {
      th.classList.toggle("shotbook-sorted", th.dataset.key === sortKey);
      th.dataset.dir = th.dataset.key === sortKey ? (sortDir > 0 ? "▲" : "▼") : "";
    }
    markSelected();
    el.dataset.rows = String(rows.length);
    trace("rows", rows.length);
  }
  function markSelected() {
    const sel = model.get("selected");
    for (const [path, tr] of trs) tr.classList.toggle("shotbook-selected", path === sel);
    notesLabel.textContent = sel ? `Notes of ${sel}` : "Notes (select a sequence)";
  }
  function showConfirm() {
    const c = model.get("confirm") || {};
    confirmBar.style.display = c.message ? "flex" : "none";
    confirmText.textContent = c.message || "";
  }
  function showStatus() {
    const s = model.get("status") || {};
    statusLine.textContent = s.message || "";
    statusLine.classList.toggle("shotbook-error", s.ok === false);
  }
  const onRows = () => layout();
  const onSelected = () => markSelected();
  const onNotes = () => { notes.value = model.get("notes"); };
  const onHistory = () => { auditLog.textContent = model.get("history") || ""; };
  model.on("change:rows", onRows);
  model.on("change:row_updates", onRows);
  model.on("change:selected", onSelected);
  model.on("change:notes", onNotes);
  model.on("change:history", onHistory);
  model.on("change:confirm", showConfirm);
  model.on("change:status", showStatus);
  layout(true);
  onNotes();
  onHistory();
  showConfirm();
  showStatus();
  return () => {
    model.off("change:rows", onRows);
    model.off("change:row_updates", onRows);
    model.off("change:selected", onSelected);
    model.off("change:notes", onNotes);
    model.off("change:history", onHistory);
    model.off("change:confirm", showConfirm);
    model.off("change:status", showStatus);
  };
}

export default { render };

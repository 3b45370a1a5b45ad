// Time lanes grid: steps as columns, lanes as rows; blocks drawn as merged cells.
const moduleCache = new Map();
async function cellModule(model, kind) {
  if (!moduleCache.has(kind)) {
    const text = (model.get("cell_modules") || {})[kind];
    const url = URL.createObjectURL(new Blob([text], { type: "text/javascript" }));
    moduleCache.set(kind, import(url));
  }
  return moduleCache.get(kind);
}

function render({ model, el }) {
  el.classList.add("sb-editor", "sb-lanes-editor");
  guardKeys(el);
  const send = makeSender(model);
  // Selection: a rectangle of lanes × steps between `anchor` and `cursor` (each {lane, step},
  // the lane by name). The cursor is the current cell of keyboard navigation. Both are kept
  // here and written to the `selection` / `cursor` traits (Python reads them, and may set them).
  let anchor = null;
  let cursor = null;
  let dragging = null;   // {moved, toggle: {lane, step} | null} while the mouse button is down
  let writing = false;

  const laneNames = () => ((model.get("view") || {}).lanes || []).map((l) => l.name);
  const stepCount = () => ((model.get("view") || {}).steps || []).length;

  function rect() {
    const names = laneNames();
    if (!anchor || !cursor) return null;
    const a = names.indexOf(anchor.lane), c = names.indexOf(cursor.lane);
    const count = stepCount();
    if (a < 0 || c < 0 || count === 0) return null;
    const clamp = (s) => Math.max(0, Math.min(count - 1, s));
    const s0 = clamp(Math.min(anchor.step, cursor.step)), s1 = clamp(Math.max(anchor.step, cursor.step));
    return { lanes: names.slice(Math.min(a, c), Math.max(a, c) + 1), start: s0, stop: s1 + 1 };
  }

  function adopt() {
    // the traits changed from Python (or after an edit): take them as the local state
    if (writing) return;
    const sel = model.get("selection") || {};
    const cur = model.get("cursor") || {};
    if (sel.lanes && sel.lanes.length) {
      const c = cur.lane && sel.lanes.includes(cur.lane) ? cur : { lane: sel.lanes[sel.lanes.length - 1], step: sel.stop - 1 };
      const top = sel.lanes[0] === c.lane ? sel.lanes[sel.lanes.length - 1] : sel.lanes[0];
      const left = c.step === sel.start ? sel.stop - 1 : sel.start;
      cursor = { lane: c.lane, step: c.step };
      anchor = { lane: top, step: left };
    } else if (cur.lane) {
      cursor = { lane: cur.lane, step: cur.step };
      anchor = { ...cursor };
    } else {
      anchor = cursor = null;
    }
  }

  function publish() {
    const r = rect();
    writing = true;
    try {
      model.set("selection", r || {});
      model.set("cursor", r && cursor ? { lane: cursor.lane, step: Math.min(cursor.step, stepCount() - 1) } : {});
      model.save_changes();
    } finally {
      writing = false;
    }
  }

  function moveTo(lane, step, extend) {
    cursor = { lane, step };
    if (!extend || !anchor) anchor = { lane, step };
    publish();
  }

  function isSelected(lane, start, stop) {
    const r = rect();
    return !!r && r.lanes.includes(lane) && start < r.stop && stop > r.start;
  }

  function isCursor(lane, start, stop) {
    return !!cursor && cursor.lane === lane && cursor.step >= start && cursor.step < stop;
  }

  const grid = () => el.querySelector(".sb-grid-scroll");

  // a person presses the mouse on a cell: select it, shift extends, dragging extends
  function pressCell(event, lane, step, toggle) {
    if (event.button !== 0) return;
    const onInput = event.target.tagName === "INPUT" || event.target.tagName === "SELECT";
    moveTo(lane, step, event.shiftKey);
    dragging = { moved: false, toggle: toggle && !event.shiftKey ? { lane, step } : null };
    if (onInput && !event.shiftKey) {
      setTimeout(update, 0); // let the input take the focus first; the re-render keeps it
      return;
    }
    event.preventDefault(); // no text selection while dragging
    grid()?.focus({ preventScroll: true });
    update();
  }

  function enterCell(lane, step, event) {
    if (!dragging || !(event.buttons & 1)) return;
    if (cursor && cursor.lane === lane && cursor.step === step) return;
    dragging.moved = true;
    moveTo(lane, step, true);
    update();
  }

  function release() {
    const done = dragging;
    dragging = null;
    if (done && !done.moved && done.toggle) send({ action: "toggle", ...done.toggle });
  }
  document.addEventListener("mouseup", release);

  function stepUnder(td, block, event) {
    const box = td.getBoundingClientRect();
    const span = block.stop - block.start;
    const x = Math.max(0, Math.min(box.width - 1, event.clientX - box.left));
    return block.start + Math.floor((span * x) / Math.max(1, box.width));
  }

  function laneOf(name) {
    return ((model.get("view") || {}).lanes || []).find((l) => l.name === name);
  }

  function blockAt(lane, step) {
    return lane ? lane.blocks.find((b) => b.start <= step && step < b.stop) : null;
  }

  const isToggleCell = (lane, block) => !!lane && !!block && lane.editor === "toggle" && typeof block.value === "boolean";

  // Space on a range: all on, unless every digital cell in it is on already
  function toggleRange(r) {
    let allOn = true;
    for (const name of r.lanes) {
      const lane = laneOf(name);
      for (let s = r.start; s < r.stop; s++) {
        const b = blockAt(lane, s);
        if (!(isToggleCell(lane, b) && b.value === true)) allOn = false;
      }
    }
    send({ action: "set_range", lanes: r.lanes, start: r.start, stop: r.stop, value: allOn ? "off" : "on" });
  }

  function editCursorCell() {
    const lane = laneOf(cursor.lane);
    const block = blockAt(lane, cursor.step);
    if (!block) return;
    if (isToggleCell(lane, block)) { send({ action: "toggle", lane: lane.name, step: cursor.step }); return; }
    const input = el.querySelector(`[data-key="${CSS.escape(`cell/${lane.name}/${block.start}`)}"]`);
    if (input) { input.focus(); if (input.select) input.select(); }
  }

  function gridKey(event) {
    const inField = event.target !== event.currentTarget;
    const mod = event.ctrlKey || event.metaKey;
    if (inField) {
      // Enter sends (textInput), Escape restores the sent text: then back to the grid
      if (event.key === "Enter" || event.key === "Escape") {
        event.stopPropagation();
        if (event.key === "Escape") event.preventDefault();
        setTimeout(() => grid()?.focus({ preventScroll: true }), 0);
      }
      return;
    }
    const names = laneNames();
    const count = stepCount();
    let handled = true;
    if (mod && !event.altKey && (event.key === "z" || event.key === "Z")) {
      send({ action: event.shiftKey ? "redo" : "undo" });
    } else if (mod && !event.altKey && (event.key === "y" || event.key === "Y")) {
      send({ action: "redo" });
    } else if (event.key.startsWith("Arrow") && !mod && names.length && count) {
      const here = cursor && names.includes(cursor.lane) ? cursor : { lane: names[0], step: 0 };
      let li = names.indexOf(here.lane), step = Math.min(here.step, count - 1);
      if (cursor) {
        if (event.key === "ArrowUp") li = Math.max(0, li - 1);
        if (event.key === "ArrowDown") li = Math.min(names.length - 1, li + 1);
        if (event.key === "ArrowLeft") step = Math.max(0, step - 1);
        if (event.key === "ArrowRight") step = Math.min(count - 1, step + 1);
      }
      moveTo(names[li], step, event.shiftKey);
      update();
    } else if (event.key === "Enter" && cursor) {
      editCursorCell();
    } else if (event.key === " " && cursor) {
      const r = rect();
      if (r && (r.lanes.length > 1 || r.stop - r.start > 1)) toggleRange(r);
      else if (isToggleCell(laneOf(cursor.lane), blockAt(laneOf(cursor.lane), cursor.step))) {
        send({ action: "toggle", lane: cursor.lane, step: cursor.step });
      }
    } else if (event.key === "Escape" && cursor) {
      anchor = { ...cursor };
      publish();
      update();
    } else {
      handled = false;
    }
    if (handled) {
      event.preventDefault();
      event.stopPropagation(); // JupyterLab's notebook shortcuts must not see these keys
    }
  }

  function stepHead(step, index, count) {
    const invalidName = (model.get("invalid") || {})[`step/${index}`];
    const invalidDuration = (model.get("invalid") || {})[`duration/${index}`];
    return h("th", { className: `sb-step-head ${step.problem ? "sb-step-problem" : ""}`, title: step.problem || "" },
      textInput({ key: `step/${index}`, value: step.name, invalid: invalidName, className: "sb-step-name",
        onsend: (v) => send({ action: "rename_step", index, name: v }) }),
      textInput({ key: `duration/${index}`, value: step.duration, invalid: invalidDuration, className: "sb-duration",
        onsend: (v) => send({ action: "set_duration", index, value: v }) }),
      h("span", {},
        h("button", { className: "sb-mini", title: "Move left", disabled: index === 0,
          onclick: () => send({ action: "move_step", index, to: index - 1 }) }, "◀"),
        h("button", { className: "sb-mini", title: "Move right", disabled: index === count - 1,
          onclick: () => send({ action: "move_step", index, to: index + 1 }) }, "▶"),
        h("button", { className: "sb-mini", title: "Insert a step after", onclick: () => send({ action: "add_step", index: index + 1 }) }, "+"),
        h("button", { className: "sb-mini sb-remove-step", title: "Remove the step", disabled: count <= 1,
          onclick: () => send({ action: "remove_step", index }) }, "✕")));
  }

  function cellsOf(lane) {
    const invalid = model.get("invalid") || {};
    const cells = [];
    for (const block of lane.blocks) {
      const span = block.stop - block.start;
      const bad = invalid[`cell/${lane.name}/${block.start}`];
      const common = (extra, start, stop) => ({
        className: `sb-cell ${extra} ${isSelected(lane.name, start, stop) ? "sb-selected" : ""} ${isCursor(lane.name, start, stop) ? "sb-cursor" : ""} ${block.problem ? "sb-problem" : ""}`,
        title: block.problem || (bad ? bad.message : ""),
        dataset: { lane: lane.name, start: String(block.start), stop: String(block.stop), step: String(start) },
      });
      if (isToggleCell(lane, block)) {
        // one cell per step so that a click toggles exactly that step; the block looks merged
        for (let step = block.start; step < block.stop; step++) {
          const cls = `${block.value ? "sb-digital-on" : "sb-digital-off"} ${step > block.start ? "sb-merge-left" : ""}`;
          cells.push(h("td", {
            ...common(cls, step, step + 1),
            onmousedown: (event) => pressCell(event, lane.name, step, true),
            onmouseover: (event) => enterCell(lane.name, step, event),
          }, step === block.start ? block.text : ""));
        }
        continue;
      }
      let cls = "";
      if (lane.kind === "digital" || lane.editor === "toggle") cls = "sb-digital-expr";
      else if (block.ramp) cls = "sb-ramp";
      else if (lane.kind === "analog") cls = "sb-analog";
      else if (lane.kind === "camera" && block.text) cls = "sb-camera-picture";
      const td = h("td", { ...common(cls, block.start, block.stop), colspan: String(span),
        onmousedown: (event) => pressCell(event, lane.name, stepUnder(td, block, event), false),
        onmousemove: (event) => enterCell(lane.name, stepUnder(td, block, event), event),
      });
      const commit = (v) => send({ action: "set_cells", lane: lane.name, start: block.start, stop: block.stop, value: v });
      if (lane.editor === "choice") {
        td.append(h("select", { className: "sb-input", dataset: { key: `cell/${lane.name}/${block.start}` },
          onchange: (e) => commit(e.target.value) },
          lane.choices.map((c) => h("option", { value: c, selected: c === block.text }, c))));
      } else if (lane.editor === "module") {
        const holder = h("div", { className: "sb-module-cell" }, block.text);
        td.append(holder);
        cellModule(model, lane.kind).then((mod) => {
          holder.replaceChildren();
          (mod.renderCell || mod.default?.renderCell)({ el: holder, value: block.value, text: block.text, commit });
        }).catch((error) => { holder.textContent = `cell editor failed: ${error}`; });
      } else {
        // sent on Enter or when the cell is left (as in a spreadsheet), never after a pause:
        // Escape must be able to give up what was typed
        td.append(textInput({ key: `cell/${lane.name}/${block.start}`, value: block.text, invalid: bad,
          placeholder: lane.kind === "camera" ? "picture" : "", delay: 0, onsend: commit }));
      }
      cells.push(td);
    }
    return cells;
  }

  function laneHead(lane, index, count) {
    const bad = (model.get("invalid") || {})[`lane/${lane.name}`];
    return h("th", { className: "sb-lane-head", title: `${lane.kind} lane` },
      textInput({ key: `lane/${lane.name}`, value: lane.name, invalid: bad, className: "sb-lane-name", delay: 0,
        onsend: (v) => send({ action: "rename_lane", name: lane.name, new: v }) }),
      h("button", { className: "sb-mini", title: "Move up", disabled: index === 0,
        onclick: () => send({ action: "move_lane", name: lane.name, to: index - 1 }) }, "▲"),
      h("button", { className: "sb-mini", title: "Move down", disabled: index === count - 1,
        onclick: () => send({ action: "move_lane", name: lane.name, to: index + 1 }) }, "▼"),
      h("button", { className: "sb-mini sb-remove-lane", title: "Remove the lane",
        onclick: () => send({ action: "remove_lane", name: lane.name }) }, "✕"));
  }

  function selectionBar() {
    const r = rect();
    if (!r) {
      // always there, so that the grid does not move under the mouse at the first click
      return h("div", { className: "sb-selection-bar sb-selection-hint" },
        "click a cell, shift-click or drag for a range; in the grid: arrows, shift+arrows, Enter, Space, Esc, Ctrl+Z / Ctrl+Y");
    }
    const { lanes, start, stop } = r;
    const range = { lanes, start, stop };
    const bad = (model.get("invalid") || {}).range;
    const setValue = (v) => send({ action: "set_range", ...range, value: v });
    // sent on Enter or Set only (leaving it for Merge / Split must not set anything)
    const value = h("input", { type: "text", className: `sb-input sb-selection-value ${bad ? "sb-invalid" : ""}`,
      value: bad ? bad.text : "", title: bad ? bad.message : "", placeholder: "value for the range",
      dataset: { key: "range", sent: "" } });
    value.addEventListener("keydown", (event) => {
      if (event.key === "Enter") { event.preventDefault(); event.stopPropagation(); setValue(value.value); }
    });
    const digital = lanes.every((name) => laneOf(name)?.editor === "toggle");
    // the columns show the steps' names: say them, with the numbers
    const names = ((model.get("view") || {}).steps || []).map((s) => s.name);
    const named = stop - start === 1 ? names[start] : `${names[start]} – ${names[stop - 1]}`;
    const steps = (stop - start === 1 ? `step ${start + 1}` : `steps ${start + 1}–${stop}`) + (named ? ` (${named})` : "");
    return h("div", { className: "sb-selection-bar" },
      h("span", { className: "sb-selection-what" }, `${lanes.join(", ")}: ${steps}`), value,
      h("button", { className: "sb-button sb-range-set", onclick: () => setValue(value.value) }, "Set"),
      digital ? h("button", { className: "sb-button sb-range-on", onclick: () => setValue("on") }, "On") : null,
      digital ? h("button", { className: "sb-button sb-range-off", onclick: () => setValue("off") }, "Off") : null,
      h("button", { className: "sb-button sb-range-merge", onclick: () => send({ action: "merge_range", ...range }) }, "Merge"),
      h("button", { className: "sb-button sb-range-split", onclick: () => send({ action: "split_range", ...range }) }, "Split"),
      h("button", { className: "sb-mini", title: "Clear the selection", onclick: () => { anchor = cursor = null; publish(); update(); } }, "✕"));
  }

  function build() {
    const view = model.get("view") || { steps: [], lanes: [], lane_kinds: [] };
    const newName = h("input", { type: "text", className: "sb-input sb-new-lane-name", placeholder: "new lane name", dataset: { key: "new-lane" } });
    const kind = h("select", { className: "sb-input sb-new-lane-kind" }, (view.lane_kinds || []).map((k) => h("option", { value: k }, k)));
    const addLane = () => { if (newName.value.trim()) send({ action: "add_lane", name: newName.value, kind: kind.value }); };
    newName.addEventListener("keydown", (e) => { if (e.key === "Enter") addLane(); });
    const bar = toolbar(model, send, newName, kind,
      h("button", { className: "sb-button sb-add-lane", onclick: addLane }, "+ Lane"),
      h("button", { className: "sb-button sb-add-step", onclick: () => send({ action: "add_step", index: view.steps.length }) }, "+ Step"));
    const count = view.steps.length;
    const table = h("table", { className: "sb-grid" },
      h("thead", {}, h("tr", {}, h("th", {}, "lane \\ step"), view.steps.map((s, i) => stepHead(s, i, count)))),
      h("tbody", {}, view.lanes.map((lane, i) => h("tr", { dataset: { lane: lane.name } }, laneHead(lane, i, view.lanes.length), cellsOf(lane)))));
    const newLaneInvalid = (model.get("invalid") || {}).new_lane;
    const scroller = h("div", { className: "sb-grid-scroll", tabindex: "0", dataset: { key: "grid", lmSuppressShortcuts: "true" },
      title: "arrows move, shift+arrows extend, Enter edits, Space toggles, Ctrl+Z / Ctrl+Y undo / redo",
      onkeydown: gridKey }, table);
    return [readOnlyBar(model, send), bar, selectionBar(), scroller,
      newLaneInvalid ? h("div", { className: "sb-invalid-message" }, newLaneInvalid.message) : null,
      invalidList(model.get("invalid")), problemList(model.get("problems"), model.get("invalid")), statusLine(model)];
  }

  function update() {
    rerender(el, build);
    lockReadOnly(el, model);
    el.dataset.version = model.get("version");
    el.dataset.problems = String((model.get("problems") || []).length);
  }
  const off = watch(model, ["view", "status", "invalid", "problems", "read_only", "read_only_reason", "can_undo", "can_redo"], update);
  // not while this view writes them itself: a re-render inside a mousedown would take out
  // the input pressed, and the focus would go to the notebook instead of the cell's input
  const adopted = () => { if (writing) return; adopt(); update(); };
  model.on("change:selection", adopted);
  model.on("change:cursor", adopted);
  adopt();
  update();
  return () => {
    off();
    model.off("change:selection", adopted);
    model.off("change:cursor", adopted);
    document.removeEventListener("mouseup", release);
  };
}

export default { render };

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
  const send = makeSender(model);
  let selection = null; // {lane, start, stop}
  let anchor = null;    // {lane, step}

  function select(lane, step, extend) {
    if (extend && anchor && anchor.lane === lane) {
      selection = { lane, start: Math.min(anchor.step, step), stop: Math.max(anchor.step, step) + 1 };
    } else {
      anchor = { lane, step };
      selection = { lane, start: step, stop: step + 1 };
    }
  }

  function isSelected(lane, start, stop) {
    return selection && selection.lane === lane && start < selection.stop && stop > selection.start;
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
      const common = (extra, step) => ({
        className: `sb-cell ${extra} ${isSelected(lane.name, block.start, block.stop) ? "sb-selected" : ""} ${block.problem ? "sb-problem" : ""}`,
        title: block.problem || (bad ? bad.message : ""),
        dataset: { lane: lane.name, start: String(block.start), stop: String(block.stop), step: String(step ?? block.start) },
      });
      if (lane.editor === "toggle" && typeof block.value === "boolean") {
        // one cell per step so that a click toggles exactly that step; the block looks merged
        for (let step = block.start; step < block.stop; step++) {
          const cls = `${block.value ? "sb-digital-on" : "sb-digital-off"} ${step > block.start ? "sb-merge-left" : ""}`;
          cells.push(h("td", {
            ...common(cls, step),
            onmousedown: (event) => {
              if (event.shiftKey) { select(lane.name, step, true); update(); return; }
              select(lane.name, step, false);
              send({ action: "toggle", lane: lane.name, step });
            },
          }, step === block.start ? block.text : ""));
        }
        continue;
      }
      let cls = "";
      if (lane.kind === "digital" || lane.editor === "toggle") cls = "sb-digital-expr";
      else if (block.ramp) cls = "sb-ramp";
      else if (lane.kind === "analog") cls = "sb-analog";
      else if (lane.kind === "camera" && block.text) cls = "sb-camera-picture";
      const td = h("td", { ...common(cls), colspan: String(span),
        onmousedown: (event) => {
          if (event.target.tagName === "INPUT" || event.target.tagName === "SELECT") { if (!event.shiftKey) { select(lane.name, block.start, false); } return; }
          select(lane.name, block.start + Math.floor(span * event.offsetX / td.offsetWidth), event.shiftKey);
          update();
        } });
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
        td.append(textInput({ key: `cell/${lane.name}/${block.start}`, value: block.text, invalid: bad,
          placeholder: lane.kind === "camera" ? "picture" : "", onsend: commit }));
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
    if (!selection) return null;
    const value = h("input", { type: "text", className: "sb-input sb-selection-value", placeholder: "value for the range" });
    const { lane, start, stop } = selection;
    return h("div", { className: "sb-selection-bar" },
      `${lane}: steps ${start + 1}–${stop}`, value,
      h("button", { className: "sb-button", onclick: () => send({ action: "set_cells", lane, start, stop, value: value.value }) }, "Set"),
      h("button", { className: "sb-button", onclick: () => send({ action: "merge", lane, start, stop }) }, "Merge"),
      h("button", { className: "sb-button", onclick: () => send({ action: "split", lane, step: start }) }, "Split"),
      h("button", { className: "sb-mini", onclick: () => { selection = null; update(); } }, "✕"));
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
    return [bar, selectionBar(), h("div", { className: "sb-grid-scroll" }, table),
      newLaneInvalid ? h("div", { className: "sb-invalid-message" }, newLaneInvalid.message) : null,
      invalidList(model.get("invalid")), problemList(model.get("problems")), statusLine(model)];
  }

  function update() {
    rerender(el, build);
    el.dataset.version = model.get("version");
    el.dataset.problems = String((model.get("problems") || []).length);
  }
  const off = watch(model, ["view", "status", "invalid", "problems", "read_only", "can_undo", "can_redo"], update);
  update();
  return off;
}

export default { render };

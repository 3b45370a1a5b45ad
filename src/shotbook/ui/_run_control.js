// Run control: Start / Interrupt, state, progress (shots, rate, ETA), last error + traceback.
function fmtEta(s) {
  if (!(s >= 0)) return "";
  if (s < 60) return `${Math.ceil(s)} s left`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${Math.ceil(s % 60)} s left`;
  return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min left`;
}
function trace(kind, value) {
  const t = globalThis.shotbookTrace;
  if (Array.isArray(t)) t.push({ kind, value, t: Date.now() });
}

function render({ model, el }) {
  el.classList.add("shotbook-run");
  guardKeys(el);
  let nextId = Date.now() * 1000;
  const send = (action) => {
    model.send({ type: "command", command: { id: ++nextId, action, path: model.get("path") } });
  };
  const top = document.createElement("div");
  top.className = "shotbook-run-top";
  const start = document.createElement("button");
  start.className = "shotbook-button shotbook-start";
  start.textContent = "▶ Start";
  start.addEventListener("click", () => send("start"));
  const stop = document.createElement("button");
  stop.className = "shotbook-button shotbook-interrupt";
  stop.textContent = "■ Interrupt";
  stop.addEventListener("click", () => send("interrupt"));
  const name = document.createElement("span");
  name.className = "shotbook-run-path";
  const state = document.createElement("span");
  state.className = "shotbook-state";
  const blocked = document.createElement("span");
  blocked.className = "shotbook-start-blocked";
  const hint = document.createElement("span");
  hint.className = "shotbook-run-hint";
  top.append(start, blocked, hint, stop, name, state);

  const bar = document.createElement("div");
  bar.className = "shotbook-progress";
  const fill = document.createElement("div");
  fill.className = "shotbook-progress-fill";
  bar.append(fill);
  const line = document.createElement("div");
  line.className = "shotbook-run-line";
  const progress = document.createElement("span");
  progress.className = "shotbook-run-progress";
  const rate = document.createElement("span");
  rate.className = "shotbook-run-rate";
  line.append(progress, rate);

  const errorBox = document.createElement("div");
  errorBox.className = "shotbook-run-error";
  const errorText = document.createElement("pre");
  const tbToggle = document.createElement("button");
  tbToggle.className = "shotbook-button";
  tbToggle.textContent = "Traceback";
  tbToggle.addEventListener("click", () => {
    model.set("show_traceback", !model.get("show_traceback"));
    model.save_changes();
  });
  const tb = document.createElement("pre");
  tb.className = "shotbook-traceback";
  errorBox.append(errorText, tbToggle, tb);
  const status = document.createElement("div");
  status.className = "shotbook-status";
  el.append(top, bar, line, errorBox, status);

  function update() {
    const path = model.get("path"), st = model.get("state"), running = model.get("running");
    name.textContent = path || "select a sequence";
    state.textContent = st;
    state.className = `shotbook-state shotbook-state-${st}`;
    const shots = model.get("shots"), expected = model.get("expected");
    progress.textContent = expected >= 0 ? `${shots} / ${expected} shots` : `${shots} shot${shots === 1 ? "" : "s"}`;
    fill.style.width = expected > 0 ? `${Math.min(100, (100 * shots) / expected)}%` : "0%";
    const r = model.get("rate");
    rate.textContent = (st === "running" && r > 0) ? ` · ${r.toFixed(1)} shots/s · ${fmtEta(model.get("eta"))}` : "";
    const why = model.get("start_blocked") || "";
    start.disabled = !model.get("can_start") || why !== "";
    // a sequence that ran is read-only: say so beside the greyed Start, with the way out
    const ended = ["finished", "interrupted", "crashed"].includes(st) && !why;
    const again = ended ? `${st}: only a draft runs; Reset to draft or Duplicate it (the buttons above, or the Edit sequence tab) to run it again` : "";
    hint.textContent = again;
    hint.style.display = again ? "inline" : "none";
    start.title = why ? `not startable: ${why}` : again;
    blocked.textContent = why;
    blocked.style.display = why ? "inline-block" : "none";
    stop.disabled = !running;
    const err = model.get("error") || {};
    if (err.reason) {
      const where = [];
      if (err.shot_index !== null && err.shot_index !== undefined) where.push(`shot ${err.shot_index}`);
      if (err.location) where.push(err.location);
      let text = `${err.error_type ? err.error_type + ": " : ""}${err.reason}`;
      if (where.length) text = `${where.join(", ")}\n${text}`;
      if (err.parameters) {
        text += "\nparameters: " + Object.entries(err.parameters).map(([k, v]) => `${k} = ${v}`).join(", ");
      }
      errorText.textContent = `${err.path || ""} failed at ${text}`;
      errorBox.style.display = "block";
    } else {
      errorBox.style.display = "none";
    }
    const show = model.get("show_traceback");
    tb.style.display = show ? "block" : "none";
    tb.textContent = model.get("traceback") || (show ? "loading…" : "");
    const s = model.get("status") || {};
    // "interrupting at the next shot boundary" is stale once the run has ended
    const stale = s.while_running && st !== "running" && st !== "preparing";
    status.textContent = stale ? "" : s.message || "";
    status.classList.toggle("shotbook-error", s.ok === false);
    el.dataset.state = st;
    el.dataset.shots = String(shots);
    trace("progress", shots);
  }
  const names = ["path", "state", "running", "shots", "expected", "rate", "eta", "error",
    "traceback", "show_traceback", "status", "can_start", "start_blocked"];
  for (const n of names) model.on(`change:${n}`, update);
  update();
  return () => { for (const n of names) model.off(`change:${n}`, update); };
}

export default { render };

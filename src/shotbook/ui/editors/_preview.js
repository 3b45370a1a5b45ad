// Timeline preview: each channel's compiled output for one shot, on a canvas; wheel to zoom,
// drag to pan, double-click for the whole shot.
function fmtTime(s) {
  const a = Math.abs(s);
  if (a === 0) return "0";
  if (a < 1e-6) return `${(s * 1e9).toPrecision(3)} ns`;
  if (a < 1e-3) return `${(s * 1e6).toPrecision(3)} µs`;
  if (a < 1) return `${(s * 1e3).toPrecision(3)} ms`;
  return `${s.toPrecision(3)} s`;
}

function render({ model, el }) {
  el.classList.add("sb-editor", "sb-preview");
  guardKeys(el);
  const LABEL = 150, DIGITAL = 18, ANALOG = 56, GAP = 6, AXIS = 22;
  let view = null; // [t0, t1] or null for the whole shot
  const canvas = h("canvas", { className: "sb-preview-canvas" });
  const labels = h("div", { className: "sb-preview-labels" });
  const info = h("div", { className: "sb-preview-info" });
  const error = h("div", { className: "sb-preview-error" });
  const shotInput = h("input", { type: "number", min: "0", className: "sb-input sb-preview-shot", style: "width:5em" });
  shotInput.addEventListener("change", () => { model.set("shot", Math.max(0, parseInt(shotInput.value || "0", 10))); model.save_changes(); });
  const refresh = h("button", { className: "sb-button sb-preview-refresh",
    onclick: () => { model.set("refresh_request", (model.get("refresh_request") || 0) + 1); model.save_changes(); } }, "⟳ Refresh");
  el.append(h("div", { className: "sb-toolbar" }, "shot ", shotInput, refresh,
    h("button", { className: "sb-button", onclick: () => { view = null; draw(); } }, "Whole shot")), info, error, canvas, labels);

  function channels() {
    const buffer = model.get("data");
    if (!buffer || !buffer.byteLength) return [];
    const bytes = buffer instanceof DataView ? buffer : new DataView(buffer.buffer || buffer, buffer.byteOffset || 0, buffer.byteLength);
    const all = new Float64Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    return (model.get("channels") || []).map((c) => ({
      ...c,
      times: all.subarray(c.offset, c.offset + c.length + 1),
      values: all.subarray(c.offset + c.length + 1, c.offset + 2 * c.length + 1),
    }));
  }

  function draw() {
    const list = channels();
    const duration = model.get("duration") || 0;
    const [t0, t1] = view || [0, duration || 1];
    const width = Math.max(300, Math.min(1100, (el.clientWidth || 800) - 10));
    const heights = list.map((c) => (c.kind === "digital" ? DIGITAL : ANALOG));
    const height = AXIS + heights.reduce((a, b) => a + b + GAP, 0) + 4;
    const ratio = window.devicePixelRatio || 1;
    canvas.width = width * ratio;
    canvas.height = height * ratio;
    canvas.style.width = `${width}px`;
    canvas.style.height = `${height}px`;
    const g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.fillStyle = "#fff";
    g.fillRect(0, 0, width, height);
    const plotW = width - LABEL - 8;
    const x = (t) => LABEL + ((t - t0) / (t1 - t0)) * plotW;
    // time axis
    g.fillStyle = "#555";
    g.font = "11px sans-serif";
    g.strokeStyle = "#ddd";
    for (let i = 0; i <= 5; i++) {
      const t = t0 + ((t1 - t0) * i) / 5;
      const px = x(t);
      g.beginPath(); g.moveTo(px, AXIS - 4); g.lineTo(px, height); g.stroke();
      g.fillText(fmtTime(t), Math.min(px, width - 50), 12);
    }
    let top = AXIS;
    list.forEach((c, index) => {
      const h0 = heights[index];
      g.fillStyle = "#222";
      g.fillText(`${c.device}: ${c.channel}${c.unit ? ` (${c.unit})` : ""}`, 4, top + Math.min(h0, 14));
      const low = c.low, high = c.high === c.low ? c.low + 1 : c.high;
      const y = (v) => (c.kind === "digital" ? top + h0 - 2 - (v ? h0 - 5 : 0) : top + h0 - 3 - ((v - low) / (high - low)) * (h0 - 8));
      g.save();
      g.beginPath(); g.rect(LABEL, top, plotW, h0); g.clip();
      if (c.kind === "digital") {
        g.fillStyle = "#2f9e44";
        for (let i = 0; i < c.length; i++) {
          if (!c.values[i]) continue;
          const a = x(c.times[i]), b = x(c.times[i + 1]);
          if (b < LABEL || a > width) continue;
          g.fillRect(a, top + 3, Math.max(1, b - a), h0 - 5);
        }
      }
      g.strokeStyle = c.kind === "digital" ? "#1b5e20" : "#1f6fd1";
      g.lineWidth = 1.5;
      g.beginPath();
      for (let i = 0; i < c.length; i++) {
        const a = x(c.times[i]), b = x(c.times[i + 1]), v = y(c.values[i]);
        if (i === 0) g.moveTo(a, v); else g.lineTo(a, v);
        g.lineTo(b, v);
      }
      g.stroke();
      g.restore();
      g.strokeStyle = "#eee";
      g.beginPath(); g.moveTo(LABEL, top + h0 + GAP / 2); g.lineTo(width, top + h0 + GAP / 2); g.stroke();
      top += h0 + GAP;
    });
    labels.replaceChildren(...list.map((c) => h("span", { className: "sb-preview-label", dataset: { device: c.device, channel: c.channel } },
      `${c.device}: ${c.channel}${c.exact ? "" : " (sampled)"}; `)));
    canvas.dataset.channels = String(list.length);
  }

  function update() {
    const count = model.get("shot_count");
    shotInput.value = String(model.get("shot"));
    info.textContent = `${model.get("path")} · shot ${model.get("shot")}${count >= 0 ? ` of ${count}` : ""} · ${fmtTime(model.get("duration") || 0)}` +
      (model.get("shot_label") ? ` · ${model.get("shot_label")}` : "");
    error.textContent = model.get("error") || "";
    el.dataset.error = model.get("error") ? "1" : "";
    draw();
  }

  canvas.addEventListener("wheel", (event) => {
    event.preventDefault();
    const duration = model.get("duration") || 1;
    const [t0, t1] = view || [0, duration];
    const rect = canvas.getBoundingClientRect();
    const frac = Math.min(1, Math.max(0, (event.clientX - rect.left - LABEL) / (rect.width - LABEL - 8)));
    const at = t0 + frac * (t1 - t0);
    const factor = event.deltaY < 0 ? 0.8 : 1.25;
    const span = Math.min(duration, Math.max(duration * 1e-7, (t1 - t0) * factor));
    let a = at - frac * span;
    a = Math.max(0, Math.min(duration - span, a));
    view = [a, a + span];
    draw();
  }, { passive: false });
  let drag = null;
  canvas.addEventListener("mousedown", (event) => { drag = { x: event.clientX, view: view || [0, model.get("duration") || 1] }; });
  window.addEventListener("mouseup", () => { drag = null; });
  canvas.addEventListener("mousemove", (event) => {
    if (!drag) return;
    const duration = model.get("duration") || 1;
    const [t0, t1] = drag.view;
    const dt = ((event.clientX - drag.x) / (canvas.clientWidth - LABEL - 8)) * (t1 - t0);
    const a = Math.max(0, Math.min(duration - (t1 - t0), t0 - dt));
    view = [a, a + (t1 - t0)];
    draw();
  });
  canvas.addEventListener("dblclick", () => { view = null; draw(); });
  const off = watch(model, ["data", "channels", "error", "shot", "shot_count", "duration", "shot_label"], update);
  update();
  return off;
}

export default { render };

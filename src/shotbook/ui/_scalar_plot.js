// Per-shot scalar vs parameter: dots for shots, mean ± error per value, drawn on a canvas.
function f64(view) {
  if (!view || view.byteLength < 8) return new Float64Array(0);
  let buffer = view.buffer, offset = view.byteOffset;
  if (offset % 8 !== 0) {
    buffer = buffer.slice(offset, offset + view.byteLength);
    offset = 0;
  }
  return new Float64Array(buffer, offset, Math.floor(view.byteLength / 8));
}

function niceTicks(lo, hi, count) {
  if (!(hi > lo)) { hi = lo + 1; lo = lo - 1; }
  const raw = (hi - lo) / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(v);
  return ticks;
}

function label(v) {
  const a = Math.abs(v);
  return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(2) : String(+v.toPrecision(4));
}

function trace(kind, value) {
  const t = globalThis.shotbookTrace;
  if (Array.isArray(t)) t.push({ kind, value, t: Date.now() });
}

function render({ model, el }) {
  el.classList.add("shotbook-plot");
  const canvas = document.createElement("canvas");
  canvas.className = "shotbook-plot-canvas";
  const W = 460, H = 300, ratio = globalThis.devicePixelRatio || 1;
  canvas.width = W * ratio;
  canvas.height = H * ratio;
  canvas.style.width = W + "px";
  canvas.style.height = H + "px";
  const info = document.createElement("div");
  info.className = "shotbook-plot-info";
  el.append(canvas, info);
  const ctx = canvas.getContext("2d");

  function draw() {
    const xs = f64(model.get("x")), ys = f64(model.get("y"));
    const gx = f64(model.get("group_x")), gm = f64(model.get("mean")), ge = f64(model.get("error"));
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, W, H);
    const left = 70, right = 12, top = 12, bottom = 44;
    const pw = W - left - right, ph = H - top - bottom;
    let xmin = Infinity, xmax = -Infinity, ymin = Infinity, ymax = -Infinity;
    for (let i = 0; i < xs.length; i++) {
      if (!isFinite(xs[i]) || !isFinite(ys[i])) continue;
      xmin = Math.min(xmin, xs[i]); xmax = Math.max(xmax, xs[i]);
      ymin = Math.min(ymin, ys[i]); ymax = Math.max(ymax, ys[i]);
    }
    for (let i = 0; i < gx.length; i++) {
      if (!isFinite(gm[i])) continue;
      ymin = Math.min(ymin, gm[i] - ge[i]); ymax = Math.max(ymax, gm[i] + ge[i]);
    }
    const n = model.get("count");
    info.textContent = `${model.get("y_label") || "?"} vs ${model.get("x_label") || "?"} · ${n} shot${n === 1 ? "" : "s"}`;
    ctx.strokeStyle = "#888";
    ctx.lineWidth = 1;
    ctx.strokeRect(left, top, pw, ph);
    if (!isFinite(xmin)) return;
    if (xmax === xmin) { xmin -= 1; xmax += 1; }
    if (ymax === ymin) { const d = Math.abs(ymin) * 0.1 || 1; ymin -= d; ymax += d; }
    const xpad = (xmax - xmin) * 0.05, ypad = (ymax - ymin) * 0.08;
    xmin -= xpad; xmax += xpad; ymin -= ypad; ymax += ypad;
    const X = (v) => left + ((v - xmin) / (xmax - xmin)) * pw;
    const Y = (v) => top + ph - ((v - ymin) / (ymax - ymin)) * ph;
    ctx.fillStyle = "#555";
    ctx.font = "11px sans-serif";
    ctx.textAlign = "center";
    for (const t of niceTicks(xmin, xmax, 6)) {
      ctx.fillText(label(t), X(t), top + ph + 14);
      ctx.beginPath(); ctx.moveTo(X(t), top + ph); ctx.lineTo(X(t), top + ph + 4); ctx.stroke();
    }
    ctx.textAlign = "right";
    for (const t of niceTicks(ymin, ymax, 5)) {
      ctx.fillText(label(t), left - 6, Y(t) + 4);
      ctx.beginPath(); ctx.moveTo(left - 4, Y(t)); ctx.lineTo(left, Y(t)); ctx.stroke();
    }
    ctx.textAlign = "center";
    ctx.fillText(model.get("x_label"), left + pw / 2, H - 8);
    ctx.fillStyle = "rgba(120, 120, 120, 0.45)";
    for (let i = 0; i < xs.length; i++) {
      if (!isFinite(xs[i]) || !isFinite(ys[i])) continue;
      ctx.beginPath(); ctx.arc(X(xs[i]), Y(ys[i]), 2, 0, 2 * Math.PI); ctx.fill();
    }
    ctx.strokeStyle = "#1f6fd1";
    ctx.fillStyle = "#1f6fd1";
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let started = false;
    for (let i = 0; i < gx.length; i++) {
      if (!isFinite(gm[i])) continue;
      if (started) ctx.lineTo(X(gx[i]), Y(gm[i])); else ctx.moveTo(X(gx[i]), Y(gm[i]));
      started = true;
    }
    ctx.stroke();
    for (let i = 0; i < gx.length; i++) {
      if (!isFinite(gm[i])) continue;
      const x = X(gx[i]);
      ctx.beginPath();
      ctx.moveTo(x, Y(gm[i] - ge[i])); ctx.lineTo(x, Y(gm[i] + ge[i]));
      ctx.moveTo(x - 3, Y(gm[i] - ge[i])); ctx.lineTo(x + 3, Y(gm[i] - ge[i]));
      ctx.moveTo(x - 3, Y(gm[i] + ge[i])); ctx.lineTo(x + 3, Y(gm[i] + ge[i]));
      ctx.stroke();
      ctx.beginPath(); ctx.arc(x, Y(gm[i]), 3.5, 0, 2 * Math.PI); ctx.fill();
    }
    canvas.dataset.count = String(n);
    trace("plot", n);
  }

  const redraw = () => draw();
  model.on("change:version", redraw);
  model.on("change:x_label", redraw);
  model.on("change:y_label", redraw);
  draw();
  return () => {
    model.off("change:version", redraw);
    model.off("change:x_label", redraw);
    model.off("change:y_label", redraw);
  };
}

export default { render };

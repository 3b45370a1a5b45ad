// Live camera image: raw bytes + dtype/shape -> levels -> colour table -> canvas.
const TYPED = {
  uint8: Uint8Array, int8: Int8Array, uint16: Uint16Array, int16: Int16Array,
  uint32: Uint32Array, int32: Int32Array, float32: Float32Array, float64: Float64Array,
};

function typedView(view, dtype) {
  const Type = TYPED[dtype];
  if (!Type || !view) return null;
  let buffer = view.buffer, offset = view.byteOffset;
  if (offset % Type.BYTES_PER_ELEMENT !== 0) {
    buffer = buffer.slice(offset, offset + view.byteLength);
    offset = 0;
  }
  return new Type(buffer, offset, Math.floor(view.byteLength / Type.BYTES_PER_ELEMENT));
}

function trace(kind, value) {
  const t = globalThis.shotbookTrace;
  if (Array.isArray(t)) t.push({ kind, value, t: Date.now() });
}

function render({ model, el }) {
  el.classList.add("shotbook-image");
  const caption = document.createElement("div");
  caption.className = "shotbook-image-caption";
  const canvas = document.createElement("canvas");
  canvas.className = "shotbook-image-canvas";
  canvas.width = 1;
  canvas.height = 1;
  const levelsText = document.createElement("div");
  levelsText.className = "shotbook-image-levels";
  el.append(caption, canvas, levelsText);
  const ctx = canvas.getContext("2d");

  function draw() {
    const [h, w] = model.get("shape");
    const data = typedView(model.get("image"), model.get("dtype"));
    if (!data || !h || !w || data.length < h * w) {
      caption.textContent = model.get("label") || "no image yet";
      ctx.clearRect(0, 0, canvas.width, canvas.height); // no picture of shots now gone
      return;
    }
    const lutView = model.get("lut");
    const lut = lutView ? new Uint8Array(lutView.buffer, lutView.byteOffset, lutView.byteLength) : null;
    const [lo, hi] = model.get("levels");
    const scale = hi > lo ? 255 / (hi - lo) : 1;
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    const out = ctx.createImageData(w, h);
    const px = out.data;
    const n = h * w;
    for (let i = 0; i < n; i++) {
      let v = (data[i] - lo) * scale;
      v = v > 255 ? 255 : v > 0 ? v | 0 : 0;
      const j = i * 4;
      if (lut && lut.length >= 768) {
        const k = v * 3;
        px[j] = lut[k]; px[j + 1] = lut[k + 1]; px[j + 2] = lut[k + 2];
      } else {
        px[j] = v; px[j + 1] = v; px[j + 2] = v;
      }
      px[j + 3] = 255;
    }
    ctx.putImageData(out, 0, 0);
    const roi = model.get("roi");
    if (roi && roi.length === 4) {
      ctx.strokeStyle = "#39ff14";
      ctx.lineWidth = Math.max(1, Math.round(w / 256));
      ctx.strokeRect(roi[0] + 0.5, roi[1] + 0.5, roi[2], roi[3]);
    }
    caption.textContent = model.get("label");
    levelsText.textContent = `levels ${lo.toPrecision(4)} – ${hi.toPrecision(4)}`;
    canvas.dataset.frame = String(model.get("frame"));
    trace("frame", model.get("label"));
  }

  const redraw = () => draw();
  model.on("change:frame", redraw);
  model.on("change:levels", redraw);
  model.on("change:lut", redraw);
  model.on("change:roi", redraw);
  draw();
  return () => {
    model.off("change:frame", redraw);
    model.off("change:levels", redraw);
    model.off("change:lut", redraw);
    model.off("change:roi", redraw);
  };
}

export default { render };

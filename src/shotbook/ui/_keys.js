// Keys typed in the panel belong to the panel (prepended to each module by Python).
// JupyterLab runs its notebook shortcuts (a, b, m, dd, ...) from a keydown listener on the
// document, and a mousedown in an output makes the notebook focus its cell, taking the focus
// from the field that was clicked. So, on the widget's root and on the panel around it:
// key events stop there (shortcuts with Ctrl / Cmd, such as Ctrl+S, still reach JupyterLab)
// and a mousedown on a place that takes the focus does not reach the notebook.
const SB_FOCUSABLE = "input, textarea, select, button, [tabindex], [contenteditable]";

function sbStopKeys(event) {
  if (event.ctrlKey || event.metaKey) return;
  event.stopPropagation();
}

function sbKeepFocus(event) {
  const place = event.target instanceof Element ? event.target.closest(SB_FOCUSABLE) : null;
  if (place && event.currentTarget.contains(place)) event.stopPropagation();
}

function sbGuard(node) {
  if (node.dataset.sbKeys) return;
  node.dataset.sbKeys = "1";
  for (const type of ["keydown", "keypress", "keyup"]) node.addEventListener(type, sbStopKeys);
  node.addEventListener("mousedown", sbKeepFocus);
}

function guardKeys(el) {
  sbGuard(el);
  // the panel's other controls (ipywidgets' drop-downs) are guarded through their container,
  // found once the widget is in the page
  let tries = 0;
  const outer = () => {
    const panel = el.closest(".shotbook-view") || el.closest(".shotbook-panel");
    if (panel) sbGuard(panel);
    else if (!el.isConnected && ++tries < 100) setTimeout(outer, 100);
  };
  outer();
}

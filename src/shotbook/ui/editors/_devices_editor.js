// Device configurations editor: one form per device, generated from its dataclass fields.
function render({ model, el }) {
  el.classList.add("sb-editor", "sb-devices-editor");
  guardKeys(el);
  const send = makeSender(model);
  undoKeys(el, send);

  function fieldInput(device, field) {
    const key = `${device}/${field.name}`;
    const bad = (model.get("invalid") || {})[key];
    const commit = (value) => send({ action: "set_field", device, field: field.name, value });
    if (field.kind === "bool") {
      return h("input", { type: "checkbox", checked: field.value === "true", dataset: { key },
        onchange: (e) => commit(e.target.checked ? "true" : "false") });
    }
    if (field.choices && field.kind !== "optional_text") {
      return h("select", { className: "sb-input", dataset: { key }, onchange: (e) => commit(e.target.value) },
        field.choices.map((c) => h("option", { value: c, selected: c === field.value }, c)));
    }
    if (field.kind === "fixed") return h("span", { className: "sb-fixed" }, field.value);
    const input = textInput({ key, value: field.value, invalid: bad, className: `sb-field sb-field-${field.name}`, onsend: commit });
    if (field.choices && field.choices.length > 1) {
      const id = `sb-servers-${Math.random().toString(36).slice(2)}`;
      input.setAttribute("list", id);
      return h("span", {}, input, h("datalist", { id }, field.choices.map((c) => h("option", { value: c }))));
    }
    return input;
  }

  function channelsTable(device, field) {
    const invalid = model.get("invalid") || {};
    const cell = (ch, name, cls) => {
      if (ch[name] === undefined) return h("td", {});
      const key = `${device}/channel/${ch.index}/${name}`;
      return h("td", {}, textInput({ key, value: ch[name], invalid: invalid[key], className: cls || "",
        onsend: (v) => send({ action: "set_channel", device, index: ch.index, field: name, value: v }) }));
    };
    return h("div", {},
      h("table", { className: "sb-channels" },
        h("thead", {}, h("tr", {}, ["channel", "kind", "output", "unit", "range", "description", ""].map((t) => h("th", {}, t)))),
        h("tbody", {}, field.channels.map((ch) => h("tr", { dataset: { channel: ch.name } },
          cell(ch, "name"), h("td", {}, ch.kind), cell(ch, "output", "sb-channel-output"), cell(ch, "output_unit"),
          cell(ch, "output_range"), cell(ch, "description"),
          h("td", {}, h("button", { className: "sb-mini", title: "Remove the channel",
            onclick: () => send({ action: "remove_channel", device, index: ch.index }) }, "✕")))))),
      h("button", { className: "sb-mini", onclick: () => send({ action: "add_channel", device, kind: "digital" }) }, "+ digital channel"),
      h("button", { className: "sb-mini", onclick: () => send({ action: "add_channel", device, kind: "analog" }) }, "+ analog channel"));
  }

  function deviceForm(device) {
    const invalid = model.get("invalid") || {};
    const rows = [];
    const channels = [];
    for (const field of device.fields) {
      if (field.kind === "channels") { channels.push(channelsTable(device.name, field)); continue; }
      rows.push(h("label", {}, field.name), fieldInput(device.name, field));
    }
    return h("fieldset", { className: "sb-device", dataset: { device: device.name } },
      h("legend", {}, textInput({ key: `device/${device.name}`, value: device.name, delay: 0, className: "sb-device-name",
        invalid: invalid.rename_device && invalid.rename_device.text !== device.name ? null : null,
        onsend: (v) => send({ action: "rename_device", name: device.name, new: v }) }),
        ` ${device.kind} `,
        h("button", { className: "sb-mini sb-remove-device", title: "Remove the device", onclick: () => send({ action: "remove_device", name: device.name }) }, "✕")),
      h("div", { className: "sb-fields" }, rows), channels);
  }

  function build() {
    const view = model.get("view") || { devices: [], kinds: [] };
    const name = h("input", { type: "text", className: "sb-input sb-new-device-name", placeholder: "device name", dataset: { key: "new-device" } });
    const kind = h("select", { className: "sb-input sb-new-device-kind" }, view.kinds.map((k) => h("option", { value: k }, k)));
    return [toolbar(model, send, name, kind, h("button", { className: "sb-button sb-add-device",
      onclick: () => { if (name.value.trim()) send({ action: "add_device", name: name.value, kind: kind.value }); } }, "+ Device")),
      view.devices.map(deviceForm), invalidList(model.get("invalid")), statusLine(model)];
  }

  function update() { rerender(el, build); el.dataset.version = model.get("version"); }
  const off = watch(model, ["view", "status", "invalid", "can_undo", "can_redo"], update);
  update();
  return off;
}

export default { render };

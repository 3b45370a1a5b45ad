"""The device configurations editor: forms from dataclasses, output graphs as text."""

from __future__ import annotations

from typing import Any

import pytest

from shotbook.compile import Broaden, LaneValues
from shotbook.device.sim import simulated_lab
from shotbook.ui.editors import DeviceConfigurationsEditor, GraphSyntaxError, parse_node

from .conftest import stored


@pytest.fixture
def editor(experiment: Any) -> DeviceConfigurationsEditor:
    experiment.register_device_server("rack", object())
    return DeviceConfigurationsEditor.from_experiment(experiment)


def fields(editor: DeviceConfigurationsEditor, device: str) -> dict[str, dict[str, Any]]:
    form = next(d for d in editor.view["devices"] if d["name"] == device)
    return {f["name"]: f for f in form["fields"]}


def test_forms_are_generated_from_the_dataclasses(editor: DeviceConfigurationsEditor) -> None:
    digital = fields(editor, "digital")
    assert digital["time_step"] == {"name": "time_step", "kind": "int", "value": "50000"}
    assert digital["trigger"]["value"] == "software"
    assert digital["device_server"]["choices"] == ["", "rack"]
    channels = digital["channels"]["channels"]
    assert channels[4]["output"] == 'trigger("analog")'
    camera = fields(editor, "camera")
    assert camera["roi"] == {"name": "roi", "kind": "ints", "value": "0, 0, 512, 512"}
    assert camera["imaging_light"]["kind"] == "texts"
    assert camera["pixel_size"]["kind"] == "float"
    # an optional object (no absorption imaging) is shown, not typed in as text
    assert camera["absorption"]["kind"] == camera["imaging_gates"]["kind"] == "fixed"
    kinds = {d["name"]: d["kind"] for d in editor.view["devices"]}
    assert kinds == {
        "analog": "simulated sequencer",
        "camera": "simulated camera",
        "digital": "simulated sequencer",
    }


def test_fields_are_parsed_validated_and_saved(
    editor: DeviceConfigurationsEditor, storage: Any
) -> None:
    editor.handle(
        {"action": "set_field", "device": "camera", "field": "roi", "value": "10, 20, 100, 200"}
    )
    editor.handle(
        {"action": "set_field", "device": "digital", "field": "device_server", "value": "rack"}
    )
    editor.handle(
        {"action": "set_field", "device": "analog", "field": "trigger", "value": "external clock"}
    )
    devices = stored(storage, "devices")
    assert devices["camera"].roi == (10, 20, 100, 200)
    assert devices["digital"].device_server == "rack"
    assert type(devices["analog"].trigger).__name__ == "ExternalClock"
    refused = editor.handle(
        {"action": "set_field", "device": "camera", "field": "roi", "value": "500, 0, 100, 100"}
    )
    assert refused["ok"] is False
    assert "does not fit" in refused["message"]
    assert editor.invalid["camera/roi"]["text"] == "500, 0, 100, 100"
    refused = editor.handle(
        {"action": "set_field", "device": "digital", "field": "time_step", "value": "0"}
    )
    assert "time_step must be >= 1 ps" in refused["message"]
    assert stored(storage, "devices")["digital"].time_step == 50_000


def test_channels_are_edited_through_their_graph_text(
    editor: DeviceConfigurationsEditor, storage: Any
) -> None:
    editor.handle(
        {
            "action": "set_channel",
            "device": "digital",
            "index": 0,
            "field": "output",
            "value": 'broaden(lane("mot light", default=False), "2 ms")',
        }
    )
    editor.handle(
        {
            "action": "set_channel",
            "device": "digital",
            "index": 0,
            "field": "name",
            "value": "mot shutter",
        }
    )
    channel = stored(storage, "devices")["digital"].channels[0]
    assert channel.name == "mot shutter"
    assert channel.output == Broaden(LaneValues("mot light", default=False), "2 ms")
    refused = editor.handle(
        {
            "action": "set_channel",
            "device": "digital",
            "index": 0,
            "field": "output",
            "value": 'broaden(lane("x"), "2 ms"',
        }
    )
    assert refused["ok"] is False
    assert "column" in refused["message"]
    assert editor.invalid["digital/channel/0/output"]["column"] is not None
    editor.handle(
        {
            "action": "set_channel",
            "device": "analog",
            "index": 2,
            "field": "output_range",
            "value": "-5, 5",
        }
    )
    assert stored(storage, "devices")["analog"].channels[2].output_range == (-5.0, 5.0)
    editor.handle({"action": "add_channel", "device": "analog", "kind": "analog"})
    editor.handle({"action": "remove_channel", "device": "analog", "index": 0})
    names = [c.name for c in stored(storage, "devices")["analog"].channels]
    assert names == ["coil current", "spare 2", "spare 3", "channel 4"]


def test_devices_are_added_renamed_and_removed(
    editor: DeviceConfigurationsEditor, storage: Any
) -> None:
    editor.handle({"action": "add_device", "name": "camera 2", "kind": "simulated camera"})
    assert stored(storage, "devices")["camera 2"] == simulated_lab()["camera"]
    assert (
        editor.handle({"action": "add_device", "name": "camera 2", "kind": "simulated camera"})[
            "ok"
        ]
        is False
    )
    editor.handle({"action": "rename_device", "name": "camera 2", "new": "side camera"})
    assert set(stored(storage, "devices")) == {"analog", "camera", "digital", "side camera"}
    editor.handle({"action": "remove_device", "name": "side camera"})
    assert set(stored(storage, "devices")) == {"analog", "camera", "digital"}
    editor.handle({"action": "undo"})
    assert "side camera" in stored(storage, "devices")


def test_a_stale_devices_editor_is_refused(experiment: Any, storage: Any) -> None:
    first = DeviceConfigurationsEditor.from_experiment(experiment)
    second = DeviceConfigurationsEditor.from_experiment(experiment)
    first.handle({"action": "remove_device", "name": "camera"})
    status = second.handle(
        {"action": "set_field", "device": "camera", "field": "seed", "value": "3"}
    )
    assert status["conflict"] is True
    assert "camera" not in stored(storage, "devices")
    assert "camera" not in second.configurations


def test_graph_text_errors_name_the_column() -> None:
    with pytest.raises(GraphSyntaxError, match="unknown node 'lanes'") as info:
        parse_node('not(lanes("x"))')
    assert info.value.column == 5
    with pytest.raises(GraphSyntaxError, match="takes 1 arguments"):
        parse_node('not(lane("x"), lane("y"))')
    assert parse_node('and(lane("a"), not(trigger("cam", default=False)))') is not None

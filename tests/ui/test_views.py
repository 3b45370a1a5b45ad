"""The panel's views on their own: bytes on the wire, throttling, colour tables, PNG."""

from __future__ import annotations

import struct
import threading
import zlib
from typing import Any

import comm
import numpy as np
import pytest
import traitlets

from shotbook.ui import (
    COLORMAPS,
    LiveImage,
    RunControl,
    ScalarPlot,
    SequenceBrowser,
    colormap_table,
    encode_png,
    image_payload,
    progress_text,
)
from shotbook.ui._throttle import LatestOnly


class RecordingComm(comm.base_comm.BaseComm):  # type: ignore[misc]
    """A comm that keeps what the kernel would send to the front end."""

    def __init__(self, **kwargs: Any) -> None:
        self.sent: list[tuple[dict[str, Any], list[bytes]]] = []
        super().__init__(**kwargs)

    def publish_msg(self, msg_type: str, data: Any = None, metadata: Any = None,
                    buffers: Any = None, **keys: Any) -> None:  # fmt: skip
        self.sent.append((dict(data or {}), [bytes(b) for b in (buffers or [])]))


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[RecordingComm]:
    comms: list[RecordingComm] = []

    def create(**kwargs: Any) -> RecordingComm:
        made = RecordingComm(**kwargs)
        comms.append(made)
        return made

    monkeypatch.setattr(comm, "create_comm", create)
    return comms


def test_image_payload_is_little_endian_bytes_with_dtype_and_shape() -> None:
    big = np.arange(12, dtype=">u2").reshape(3, 4)
    data, dtype, shape = image_payload(big)
    assert (dtype, shape) == ("uint16", [3, 4])
    assert np.array_equal(np.frombuffer(data, "<u2").reshape(3, 4), big)
    data, dtype, _ = image_payload(np.ones((2, 2), dtype=np.int64))
    assert dtype == "float64"
    assert np.frombuffer(data, "<f8").tolist() == [1.0] * 4
    with pytest.raises(ValueError, match="2-D"):
        image_payload(np.zeros(5))


def test_live_image_goes_over_the_wire_as_a_binary_buffer(recorded: list[RecordingComm]) -> None:
    view = LiveImage()
    frame = (np.arange(64 * 48, dtype=np.uint16).reshape(64, 48) * 7) % 4000
    view.show(frame, label="camera.cloud · shot 3")
    assert view.flush()
    updates = [
        (data, buffers)
        for c in recorded
        for data, buffers in c.sent
        if data.get("method") == "update" and "image" in data.get("buffer_paths", [["?"]])[0]
    ]
    assert updates, "the frame was not sent"
    data, buffers = updates[-1]
    assert data["state"]["dtype"] == "uint16"
    assert data["state"]["shape"] == [64, 48]
    assert data["state"]["label"] == "camera.cloud · shot 3"
    assert "image" not in data["state"] or data["state"]["image"] is None
    sent = np.frombuffer(buffers[0], dtype="<u2").reshape(64, 48)
    assert np.array_equal(sent, frame)
    low, high = data["state"]["levels"]
    assert 0 <= low < high <= 4000
    view.close()


def test_only_the_newest_frame_is_sent_and_at_a_bounded_rate() -> None:
    sent: list[int] = []
    gate = threading.Event()

    def slow_send(item: int) -> None:
        gate.wait(2.0)
        sent.append(item)

    throttle: LatestOnly[int] = LatestOnly(slow_send, rate=30.0)
    throttle.submit(0)
    for item in range(1, 200):
        throttle.submit(item)
    gate.set()
    assert throttle.flush()
    assert sent[-1] == 199
    assert len(sent) <= 3, sent
    assert throttle.dropped_count >= 196


def test_live_image_colour_map_levels_and_roi_are_checked() -> None:
    view = LiveImage(colormap="gray")
    assert bytes(view.lut) == colormap_table("gray")
    view.colormap = "ocean"
    assert bytes(view.lut) == colormap_table("ocean")
    with pytest.raises(traitlets.TraitError, match="unknown colour map"):
        view.colormap = "rainbow"
    with pytest.raises(traitlets.TraitError, match="roi"):
        view.roi = [1, 2, 3]
    view.set_roi((5, 6, 20, 10))
    assert view.roi == [5, 6, 20, 10]
    view.set_levels(100, 900)
    assert (view.auto_levels, view.levels) == (False, [100.0, 900.0])
    view.show(np.full((8, 8), 5000, dtype=np.uint16))
    assert view.flush()
    assert view.levels == [100.0, 900.0]
    with pytest.raises(ValueError, match="low < high"):
        view.set_levels(3, 3)
    view.close()


def test_colour_tables_are_monotonic_in_brightness() -> None:
    for name in COLORMAPS:
        table = np.frombuffer(colormap_table(name), np.uint8).reshape(256, 3).astype(float)
        brightness = table @ [0.3, 0.59, 0.11]
        assert np.all(np.diff(brightness) >= -1.0), name
        assert brightness[-1] - brightness[0] > 150, name


def _decode_png(data: bytes) -> np.ndarray:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, idat, size = 8, b"", (0, 0)
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        payload = data[position + 8 : position + 8 + length]
        (crc,) = struct.unpack(">I", data[position + 8 + length : position + 12 + length])
        assert crc == zlib.crc32(kind + payload) & 0xFFFFFFFF
        if kind == b"IHDR":
            size = struct.unpack(">II", payload[:8])
        elif kind == b"IDAT":
            idat += payload
        position += 12 + length
    width, height = size
    raw = np.frombuffer(zlib.decompress(idat), np.uint8).reshape(height, 1 + 3 * width)
    assert np.all(raw[:, 0] == 0)
    return raw[:, 1:].reshape(height, width, 3)


def test_png_encoder_round_trips_pixels() -> None:
    rgb = np.random.default_rng(1).integers(0, 256, (17, 23, 3), dtype=np.uint8)
    assert np.array_equal(_decode_png(encode_png(rgb)), rgb)
    with pytest.raises(ValueError, match="uint8"):
        encode_png(rgb.astype(np.float32))


def test_scalar_plot_sends_points_and_means_with_errors() -> None:
    plot = ScalarPlot(x_label="time_of_flight", y_label="analysis.atom_number")
    plot.set_points([2, 2, 6, 6, 10], [10.0, 14.0, 5.0, 7.0, 1.0])
    assert plot.flush()
    x, y = plot.points()
    assert x.tolist() == [2, 2, 6, 6, 10]
    assert y.tolist() == [10, 14, 5, 7, 1]
    gx, mean, error = plot.groups()
    assert gx.tolist() == [2, 6, 10]
    assert mean.tolist() == [12, 6, 1]
    assert error.tolist() == pytest.approx([2.0, 1.0, 0.0])
    assert plot.count == 5
    with pytest.raises(ValueError, match="one of each"):
        plot.set_points([1, 2], [1.0])
    plot.close()


def test_commands_reach_their_handler_and_unknown_ones_are_refused() -> None:
    browser = SequenceBrowser()
    seen: list[dict[str, Any]] = []
    browser.on_command(seen.append)
    browser.command = {"id": 1, "action": "new_folder", "path": "/a"}
    browser.command = {"id": 2, "action": "format_disk", "path": "/"}
    assert [c["id"] for c in seen] == [1]
    assert browser.status["ok"] is False
    assert "format_disk" in browser.status["message"]
    control = RunControl()
    asked: list[dict[str, Any]] = []
    control.on_command(asked.append)
    control.command = {"id": 3, "action": "start", "path": "/a/b"}
    control.show_traceback = True
    assert [c["action"] for c in asked] == ["start", "traceback"]
    assert progress_text(3, None) == "3 shots"
    assert progress_text(3, 10) == "3 / 10 shots"


def test_front_end_commands_arrive_as_messages_none_lost() -> None:
    from shotbook.ui import RunControl, SequenceBrowser

    for widget, action in ((SequenceBrowser(), "new_folder"), (RunControl(), "start")):
        seen: list[dict] = []
        widget.on_command(seen.append)
        for n in (1, 2):  # back to back, as two fast clicks
            widget._handle_custom_msg(
                {"type": "command", "command": {"id": n, "action": action, "path": f"/p{n}"}}, []
            )
        widget._handle_custom_msg({"type": "something else"}, [])
        assert [c["id"] for c in seen] == [1, 2]
        widget._handle_custom_msg({"type": "command", "command": {"id": 3, "action": "nope"}}, [])
        assert widget.status["ok"] is False
        assert "unknown action 'nope'" in widget.status["message"]

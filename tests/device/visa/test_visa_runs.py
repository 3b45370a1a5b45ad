"""VISA instruments in whole sequences run by a LocalExperimentManager (simulated lab +
pyvisa-sim with lab_synth.yaml): stored read-outs with their units, an absent instrument and
one falling silent mid-scan (CRASHED naming device, address and step; earlier shots kept;
the devices closed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pyvisa_sim")

import pyvisa

from shotbook.analysis import read_shots, to_pint, to_xarray
from shotbook.control import (
    SequenceFailedError,
    ShotRetryConfig,
)
from shotbook.device.visa import SCPICommand, SCPIQuery, register_visa_types
from tests.control.lab import (
    shots_of,
    state_of,
)
from tests.device.instrument_runs import sequence_runs

from .test_visa import ADDRESS, synth

SYNTH = synth(
    commands=(SCPICommand("FREQ {value:.6f}", "mot.detuning + 80 MHz", unit="Hz"),),
    queries=(SCPIQuery("TEMP?", "temperature", unit="K"), SCPIQuery("FREQ?", "frequency")),
)


@pytest.fixture
def run(tmp_path: Path) -> Iterator[Any]:
    """``run(path, instruments, **manager options)``: the simulated lab plus ``instruments``."""
    yield from sequence_runs(tmp_path, register_visa_types)


@pytest.fixture
def resources(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """The addresses of the VISA resources opened, and of those closed, from now on."""
    seen: dict[str, list[str]] = {"opened": [], "closed": []}
    names: dict[int, str] = {}
    alive: list[Any] = []  # so that no id in `names` is reused during the test
    open_resource = pyvisa.ResourceManager.open_resource
    close = pyvisa.resources.Resource.close

    def opening(self: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        resource = open_resource(self, name, *args, **kwargs)
        seen["opened"].append(name)
        names[id(resource)] = name
        alive.append(resource)
        return resource

    def closing(self: Any) -> None:
        if id(self) in names:  # not a resource of an earlier test, collected meanwhile
            seen["closed"].append(names[id(self)])
        close(self)

    monkeypatch.setattr(pyvisa.ResourceManager, "open_resource", opening)
    monkeypatch.setattr(pyvisa.resources.Resource, "close", closing)
    return seen


def test_a_scan_stores_the_query_replies_with_their_declared_units(run, resources) -> None:
    summary = run("/synth/units", {"synth": SYNTH})
    assert summary.ok, summary
    frame = read_shots(run.storage, "/synth/units")
    assert frame["synth.temperature"].to_list() == [294.65] * 4
    assert frame["synth.frequency"].to_list() == [65e6] * 4  # -15 MHz + 80 MHz, sent in Hz
    assert frame.units["synth.temperature"] == "K"
    assert frame.units["synth.frequency"] is None  # no unit declared: none is guessed
    assert to_pint(frame, "synth.temperature").to("mK").magnitude == pytest.approx([294650] * 4)
    assert to_xarray(frame)["synth.temperature"].attrs["units"] == "K"
    assert set(resources["closed"]) == {ADDRESS}


def test_an_absent_instrument_crashes_the_run_naming_device_address_and_step(
    run, resources
) -> None:
    absent = synth(
        address="GPIB0::9::INSTR", commands=SYNTH.commands, queries=SYNTH.queries
    )  # pyvisa-sim knows no such resource
    with pytest.raises(SequenceFailedError) as caught:
        run("/synth/absent", {"synth": absent})
    text = str(caught.value)
    assert caught.value.state == "crashed"
    assert "device 'synth' (VISA GPIB0::9::INSTR) failed to open" in text
    assert state_of(run.storage, "/synth/absent") == "crashed"
    assert len(shots_of(run.storage, "/synth/absent")) == 0
    assert set(resources["closed"]) == set(resources["opened"])  # what was opened is closed


def test_an_instrument_falling_silent_mid_scan_crashes_the_run_and_keeps_the_shots_before(
    run, resources, monkeypatch
) -> None:
    # the instrument answers "TEMP?" twice, then never again: the query becomes the YAML's
    # "SLOW?", which pyvisa-sim accepts and never answers (a real VISA read time-out)
    answers = {"left": 2}
    query = pyvisa.resources.MessageBasedResource.query

    def falls_silent(self: Any, message: str, *args: Any, **kwargs: Any) -> Any:
        if message == "TEMP?":
            answers["left"] -= 1
            if answers["left"] < 0:
                message = "SLOW?"
        return query(self, message, *args, **kwargs)

    monkeypatch.setattr(pyvisa.resources.MessageBasedResource, "query", falls_silent)
    retry = ShotRetryConfig((TimeoutError,), number_of_attempts=2)
    with pytest.raises(SequenceFailedError) as caught:
        run("/synth/silent", {"synth": SYNTH}, shot_retry_config=retry)
    text = str(caught.value)
    assert caught.value.state == "crashed"
    assert caught.value.shot_index == 2
    assert "device 'synth' (VISA GPIB0::8::INSTR) failed to read_data: query 'TEMP?'" in text
    assert "VI_ERROR_TMO" in text
    assert answers["left"] == -2  # shot 2 was tried twice (the retry policy)
    assert state_of(run.storage, "/synth/silent") == "crashed"
    frame = read_shots(run.storage, "/synth/silent")
    assert frame["shot_index"].to_list() == [0, 1]
    assert frame["synth.temperature"].to_list() == [294.65, 294.65]
    assert frame.units["synth.temperature"] == "K"
    assert resources["opened"] == [ADDRESS]
    assert set(resources["closed"]) == {ADDRESS}  # the device was closed

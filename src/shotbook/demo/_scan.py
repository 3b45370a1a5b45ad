"""The demo's scan: a time-of-flight measurement of a simulated cold-atom cloud."""

from __future__ import annotations

from shotbook.types import (
    ExecuteShot,
    LinspaceLoop,
    ParameterNamespace,
    StepsConfiguration,
    VariableDeclaration,
)


def demo_globals() -> ParameterNamespace:
    """Global parameters of the demo lab."""
    return ParameterNamespace.from_mapping(
        {
            "mot": {"detuning": "-15 MHz", "loading_time": "500 ms", "power": "10 dBm"},
            "molasses": {"detuning": "-35 MHz", "duration": "10 ms"},
            "imaging": {"exposure": "100 us", "detuning": "0 MHz"},
        }
    )


def demo_scan(points: int = 8, repetitions: int = 3) -> StepsConfiguration:
    """Time of flight from 2 ms to 14 ms, ``repetitions`` shots per point."""
    return StepsConfiguration(
        [
            VariableDeclaration("probe.power", "60% * 1 mW"),
            LinspaceLoop(
                "time_of_flight",
                "2 ms",
                "14 ms",
                points,
                [
                    LinspaceLoop(
                        "repetition", "0", str(repetitions - 1), repetitions, [ExecuteShot()]
                    )
                ],
            ),
        ]
    )

"""The seams between layers are typed: no ``Any`` in the public signatures users meet first.

The facade (``Experiment``), the experiment managers and their configurations, and the
loading functions of ``shotbook.analysis`` name concrete types or protocols, so that mypy and
notebook completion see what they return. ``python -m tests.extension.test_public_signatures``
prints the count (and, with ``-v``, each hit), for these and for every public class and
function of ``shotbook.control``, ``shotbook.extension`` and ``shotbook.analysis``.
"""

from __future__ import annotations

import inspect
import re
import sys
from collections.abc import Callable, Iterator

import shotbook.analysis as analysis
import shotbook.control as control
import shotbook.extension as extension

_ANY = re.compile(r"\bAny\b")

SEAMS: tuple[object, ...] = (
    extension.Experiment,
    control.ExperimentManager,
    control.LocalExperimentManager,
    control.RemoteExperimentManager,
    control.LocalExperimentManagerConfiguration,
    control.RemoteExperimentManagerConfiguration,
    control.ExperimentServer,
    control.serve_experiment,
    analysis.read_shots,
    analysis.scan_shots,
    analysis.sql,
)
"""The public seams that must name no ``Any``."""


def _text(annotation: object) -> str:
    if annotation is inspect.Parameter.empty:
        return ""
    return annotation if isinstance(annotation, str) else inspect.formatannotation(annotation)


def _functions(owner: object) -> Iterator[tuple[str, Callable[..., object]]]:
    """The public functions of a class (methods, properties, ``__init__``) or the function."""
    if inspect.isclass(owner):
        for name, member in vars(owner).items():
            if name.startswith("_") and name != "__init__":
                continue
            if isinstance(member, property) and member.fget is not None:
                yield f"{owner.__name__}.{name}", member.fget
            elif isinstance(member, staticmethod | classmethod):
                yield f"{owner.__name__}.{name}", member.__func__
            elif inspect.isfunction(member):
                yield f"{owner.__name__}.{name}", member
    elif inspect.isfunction(owner):
        yield owner.__name__, owner


def any_in_signatures(owners: tuple[object, ...] | list[object]) -> list[str]:
    """Each ``Any`` in the parameters and return annotations of these classes' and
    functions' public signatures, as ``"Owner.method(parameter): annotation"``."""
    hits = []
    for owner in owners:
        for name, function in _functions(owner):
            signature = inspect.signature(function)
            annotated = [(p.name, p.annotation) for p in signature.parameters.values()]
            annotated.append(("return", signature.return_annotation))
            for part, annotation in annotated:
                text = _text(annotation)
                hits.extend(f"{name}({part}): {text}" for _ in _ANY.findall(text))
    return hits


def every_public_owner() -> list[object]:
    """Every public class and function of the control, extension and analysis layers."""
    names = [
        getattr(module, name)
        for module in (control, extension, analysis)
        for name in module.__all__
    ]
    return [item for item in names if inspect.isclass(item) or inspect.isfunction(item)]


def test_the_public_seams_name_no_any() -> None:
    assert any_in_signatures(SEAMS) == []


def test_the_count_sees_an_any() -> None:
    def loose(value: object) -> object:  # a stand-in with an ``Any`` written as text
        return value

    loose.__annotations__ = {"value": "Mapping[str, Any]", "return": "Any | None"}
    assert any_in_signatures([loose]) == [
        "loose(value): Mapping[str, Any]",
        "loose(return): Any | None",
    ]


def test_experiment_getters_name_the_manager_types() -> None:
    signature = inspect.signature
    experiment = extension.Experiment
    assert signature(experiment.connect_to_experiment_manager).return_annotation == (
        "ExperimentManager"
    )
    assert signature(experiment.get_local_experiment_manager).return_annotation == (
        "LocalExperimentManager"
    )
    assert signature(experiment.read_shots).return_annotation == "pl.DataFrame"
    assert signature(experiment.sql).return_annotation == "pl.DataFrame"


if __name__ == "__main__":
    seams, everywhere = any_in_signatures(SEAMS), any_in_signatures(every_public_owner())
    if "-v" in sys.argv:
        print("\n".join([*seams, "--- every public class and function:", *everywhere]))
    print(
        f"Any in the public seams' signatures: {len(seams)}; in every public class and "
        f"function of control, extension and analysis: {len(everywhere)}"
    )

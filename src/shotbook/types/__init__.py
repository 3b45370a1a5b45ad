"""The core model: expressions with units, parameters, scans, time lanes and paths.

Nothing here talks to hardware or storage, and importing it is light (pint is
imported only when a unit is first parsed).

>>> from shotbook.types import Expression
>>> Expression("2 * 5 MHz").evaluate()
<Quantity(10.0, 'megahertz')>
"""

from ._expression import CompiledExpression, Expression
from ._expression_errors import (
    DimensionError,
    EvaluationError,
    ExpressionError,
    ExpressionSyntaxError,
    UndefinedParameterError,
    UnitError,
)
from ._iteration import (
    ArangeLoop,
    ExecuteShot,
    IterationError,
    LinspaceLoop,
    ScanPlan,
    Step,
    StepsConfiguration,
    VariableDeclaration,
)
from ._parameter_namespace import CompiledNamespace, ParameterNamespace
from ._paths import InvalidPathError, PureSequencePath, as_path
from ._shot_parameters import Scalar, ShotParameters, format_value
from ._time_lane import (
    AnalogTimeLane,
    CameraTimeLane,
    DigitalTimeLane,
    Ramp,
    TakePicture,
    TimeLane,
    TimeLaneError,
)
from ._time_lanes import TimeLanes
from ._units import Dimension, Unit, parse_unit
from ._variable_name import RESERVED_NAMES, DottedVariableName, InvalidVariableNameError

__all__ = [
    "RESERVED_NAMES",
    "AnalogTimeLane",
    "ArangeLoop",
    "CameraTimeLane",
    "CompiledExpression",
    "CompiledNamespace",
    "DigitalTimeLane",
    "Dimension",
    "DimensionError",
    "DottedVariableName",
    "EvaluationError",
    "ExecuteShot",
    "Expression",
    "ExpressionError",
    "ExpressionSyntaxError",
    "InvalidPathError",
    "InvalidVariableNameError",
    "IterationError",
    "LinspaceLoop",
    "ParameterNamespace",
    "PureSequencePath",
    "Ramp",
    "Scalar",
    "ScanPlan",
    "ShotParameters",
    "Step",
    "StepsConfiguration",
    "TakePicture",
    "TimeLane",
    "TimeLaneError",
    "TimeLanes",
    "UndefinedParameterError",
    "Unit",
    "UnitError",
    "VariableDeclaration",
    "as_path",
    "format_value",
    "parse_unit",
]

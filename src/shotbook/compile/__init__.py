"""Shot compilation: from time lanes and parameters to each device's instructions.

* exact time in integer picoseconds (:func:`seconds_to_ps`, :func:`ticks_at`);
* compact instruction trees (:class:`Instruction`, :func:`constant`, :func:`concatenate`,
  :func:`repeat`, :func:`linear_ramp`, :func:`stack_channels`);
* device configurations (:class:`SequencerConfiguration`, :class:`CameraConfiguration`, channel
  output graphs) registered with :func:`register_compile_types`;
* :class:`SequenceCompiler` (one shot at a time), :func:`check_sequence` (before running) and
  :func:`compile_preview` (for the panel).

>>> from shotbook.types import DigitalTimeLane, ShotParameters, TimeLanes
>>> lanes = TimeLanes(["on", "off"], ["1 us", "2 us"], {"led": DigitalTimeLane([True, False])})
>>> sequencer = SequencerConfiguration(
...     time_step=500_000, channels=(DigitalChannelConfiguration("led", LaneValues("led")),))
>>> shot = SequenceCompiler(lanes, {"pulser": sequencer}).compile_shot(ShotParameters({}, {}))
>>> shot["pulser"]["sequence"].field("led").to_segments()
[(2, True), (4, False)]
"""

from ._configurations import (
    Advance,
    AnalogChannelConfiguration,
    And,
    Broaden,
    CalibratedMapping,
    CameraConfiguration,
    ChannelConfiguration,
    ConfigurationError,
    Constant,
    Delay,
    DeviceTrigger,
    DigitalChannelConfiguration,
    ExternalClock,
    ExternalTriggerStart,
    LaneValues,
    Not,
    Or,
    OutputNode,
    SequencerConfiguration,
    SoftwareTrigger,
    Trigger,
    Xor,
    register_compile_types,
)
from ._context import DeviceCompiler, Picture, ShotContext, TriggerSource, same_dimension
from ._devices import CameraCompiler, CompilerFactory, SequencerCompiler, default_compilers
from ._errors import SequenceCheckError, ShotCompilationError
from ._instructions import (
    MAX_DENSE_LENGTH,
    Concatenated,
    Instruction,
    InstructionError,
    LinearRamp,
    Pattern,
    Repeated,
    concatenate,
    constant,
    empty,
    linear_ramp,
    map_values,
    pattern,
    repeat,
    stack_channels,
)
from ._preview import ChannelPreview, compile_preview
from ._reserved import (
    ANALYSIS_PREFIX,
    RESERVED_COLUMN_NAMES,
    DeclaresDataLabels,
    ReservedNameError,
    known_data_columns,
    reserved_name_problems,
)
from ._runs import RunEncoder
from ._sequence import SequenceCompiler, check_sequence, find_sequence_problems
from ._static import SequenceCheckContext
from ._timing import PS_PER_SECOND, ms, ns, ps_to_seconds, seconds_to_ps, ticks_at, us

__all__ = [
    "ANALYSIS_PREFIX",
    "MAX_DENSE_LENGTH",
    "PS_PER_SECOND",
    "RESERVED_COLUMN_NAMES",
    "Advance",
    "AnalogChannelConfiguration",
    "And",
    "Broaden",
    "CalibratedMapping",
    "CameraCompiler",
    "CameraConfiguration",
    "ChannelConfiguration",
    "ChannelPreview",
    "CompilerFactory",
    "Concatenated",
    "ConfigurationError",
    "Constant",
    "DeclaresDataLabels",
    "Delay",
    "DeviceCompiler",
    "DeviceTrigger",
    "DigitalChannelConfiguration",
    "ExternalClock",
    "ExternalTriggerStart",
    "Instruction",
    "InstructionError",
    "LaneValues",
    "LinearRamp",
    "Not",
    "Or",
    "OutputNode",
    "Pattern",
    "Picture",
    "Repeated",
    "ReservedNameError",
    "RunEncoder",
    "SequenceCheckContext",
    "SequenceCheckError",
    "SequenceCompiler",
    "SequencerCompiler",
    "SequencerConfiguration",
    "ShotCompilationError",
    "ShotContext",
    "SoftwareTrigger",
    "Trigger",
    "TriggerSource",
    "Xor",
    "check_sequence",
    "compile_preview",
    "concatenate",
    "constant",
    "default_compilers",
    "empty",
    "find_sequence_problems",
    "known_data_columns",
    "linear_ramp",
    "map_values",
    "ms",
    "ns",
    "pattern",
    "ps_to_seconds",
    "register_compile_types",
    "repeat",
    "reserved_name_problems",
    "same_dimension",
    "seconds_to_ps",
    "stack_channels",
    "ticks_at",
    "us",
]

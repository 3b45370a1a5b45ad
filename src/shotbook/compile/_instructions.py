"""Compact, immutable instruction trees: what a sequencer outputs, tick by tick.

An instruction is a sequence of values, one per tick of a device, stored as a small tree:

* :class:`Pattern` – explicit values (a read-only numpy array);
* :class:`Concatenated` – parts played one after the other;
* :class:`Repeated` – one instruction played ``repetitions`` times;
* :class:`LinearRamp` – values on a straight line.

Nothing is unrolled: ``constant(True, 10**9)`` is two nodes, a 1 kHz square wave over one
second is a repetition of one period. Build trees with the functions :func:`pattern`,
:func:`constant`, :func:`concatenate`, :func:`repeat`, :func:`linear_ramp` and
:func:`stack_channels`; they keep trees small (neighbouring equal parts merge, a repetition of a
repetition flattens). Several channels side by side are one instruction with a structured numpy
dtype, one field per channel.

>>> wave = repeat(concatenate(constant(True, 3), constant(False, 2)), 4)
>>> len(wave), wave.to_segments()[:2]
(20, [(3, True), (2, False)])
>>> both = stack_channels({"a": wave, "b": constant(False, 20)})
>>> both.fields, both.field("a") == wave
(('a', 'b'), True)
"""

from __future__ import annotations

import bisect
import functools
import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

__all__ = [
    "MAX_DENSE_LENGTH",
    "Concatenated",
    "Instruction",
    "InstructionError",
    "LinearRamp",
    "Pattern",
    "Repeated",
    "concatenate",
    "constant",
    "empty",
    "linear_ramp",
    "pattern",
    "repeat",
    "stack_channels",
]

MAX_DENSE_LENGTH = 50_000_000
"""Most values an operation may expand into a dense array before it refuses."""

_SMALL_PATTERN = 16
"""Neighbouring patterns shorter than this together are merged into one."""


class InstructionError(ValueError):
    """An instruction that cannot be built or converted; the message says why."""


def _frozen(values: np.ndarray) -> np.ndarray:
    """A read-only array holding ``values`` (copied unless already read-only)."""
    if values.flags.writeable:
        values = values.copy()
        values.flags.writeable = False
    return values


def _scalar_equal(a: Any, b: Any) -> bool:
    result = a == b
    return bool(np.all(result))


class Instruction:
    """A sequence of values, one per tick, stored as a compact immutable tree.

    ``len(instruction)`` is the number of ticks; :attr:`dtype` the numpy dtype of the values
    (structured, with one field per channel, for several channels). Equality compares values:
    same dtype, same length, same value at every tick (trees are compared structurally first,
    which is fast; different trees are compared run by run).
    """

    __slots__ = ("_dtype", "_length")

    _length: int
    _dtype: np.dtype[Any]

    @property
    def dtype(self) -> np.dtype[Any]:
        """The numpy dtype of the values."""
        return self._dtype

    @property
    def fields(self) -> tuple[str, ...]:
        """The channel names of a stacked instruction (empty for a single channel)."""
        return tuple(self._dtype.names or ())

    def __len__(self) -> int:
        return self._length

    @property
    def length(self) -> int:
        """The number of ticks (also ``len(instruction)``, which this is for huge lengths)."""
        return self._length

    # --- tree ---
    def children(self) -> tuple[Instruction, ...]:
        """The direct sub-instructions (none for a leaf)."""
        raise NotImplementedError

    def node_count(self) -> int:
        """How many nodes the tree holds (its size in memory, up to the leaves' arrays)."""
        return 1 + sum(child.node_count() for child in self.children())

    def leaf_values(self) -> int:
        """How many values the leaves store in total (patterns' lengths, 2 per ramp)."""
        return sum(child.leaf_values() for child in self.children())

    # --- conversions ---
    def to_array(self, max_length: int = MAX_DENSE_LENGTH) -> np.ndarray:
        """Every value as a dense numpy array (for tests and small previews only).

        Raises :class:`InstructionError` above ``max_length`` values.
        """
        if self._length > max_length:
            raise InstructionError(
                f"refusing to expand {self._length} ticks into an array (limit {max_length}); "
                "use to_segments(), a slice, or raise max_length"
            )
        out = np.empty(self._length, dtype=self._dtype)
        self._fill(out)
        return out

    def _fill(self, out: np.ndarray) -> None:
        """Write the values into ``out`` (of length ``len(self)``)."""
        raise NotImplementedError

    def to_segments(self, max_segments: int = 1_000_000) -> list[tuple[int, Any]]:
        """The values as ``(duration in ticks, value)`` runs; neighbouring equal runs merge.

        Values are Python scalars (tuples for stacked channels). A ramp gives one run per
        tick. Raises :class:`InstructionError` beyond ``max_segments`` runs.
        """
        out: list[tuple[int, Any]] = []
        for count, value in self._merged_runs():
            if len(out) >= max_segments:
                raise InstructionError(
                    f"more than {max_segments} segments; use a slice or raise max_segments"
                )
            out.append((count, value.item()))
        return out

    def _merged_runs(self) -> Iterator[tuple[int, Any]]:
        current: Any = None
        count = 0
        for n, value in self._runs():
            if n == 0:
                continue
            if count and _scalar_equal(value, current):
                count += n
            else:
                if count:
                    yield count, current
                current, count = value, n
        if count:
            yield count, current

    def _runs(self) -> Iterator[tuple[int, Any]]:
        """Runs ``(count, numpy scalar)``, not necessarily merged."""
        raise NotImplementedError

    def constant_value(self) -> Any | None:
        """The single value of an instruction whose ticks all hold it (numpy scalar), else None.

        Only looks at the tree's shape (cheap): a pattern that happens to be constant is
        normalised to a repetition by :func:`pattern`.
        """
        return None

    def value_at(self, tick: int) -> Any:
        """The value at one tick (numpy scalar); negative ticks count from the end."""
        if tick < 0:
            tick += self._length
        if not 0 <= tick < self._length:
            raise IndexError(f"tick {tick} is outside the instruction's {self._length} ticks")
        return self._value_at(tick)

    def _value_at(self, tick: int) -> Any:
        raise NotImplementedError

    def values_at(self, ticks: np.ndarray) -> np.ndarray:
        """The values at many ticks (an integer array), without expanding the instruction."""
        ticks = np.asarray(ticks, dtype=np.int64)
        if ticks.size and (ticks.min() < 0 or ticks.max() >= self._length):
            raise IndexError(f"ticks outside the instruction's {self._length} ticks")
        out = np.empty(ticks.shape, dtype=self._dtype)
        self._take(ticks, out)
        return out

    def _take(self, ticks: np.ndarray, out: np.ndarray) -> None:
        raise NotImplementedError

    # --- slicing ---
    def __getitem__(self, key: slice) -> Instruction:
        if not isinstance(key, slice):
            raise TypeError("index an instruction with a slice; use value_at(tick) for one tick")
        start, stop, step = key.indices(self._length)
        if step != 1:
            raise InstructionError("instruction slices take every tick (no step)")
        stop = max(start, stop)
        if start == 0 and stop == self._length:
            return self
        if start == stop:
            return empty(self._dtype)
        return self._slice(start, stop)

    def _slice(self, start: int, stop: int) -> Instruction:
        """The ticks ``[start, stop)``, with ``0 <= start < stop <= len`` and not everything."""
        raise NotImplementedError

    # --- channels ---
    def field(self, name: str) -> Instruction:
        """The instruction of one channel of a stacked instruction."""
        if name not in self.fields:
            raise KeyError(
                f"no channel {name!r} in this instruction; channels are "
                f"{', '.join(self.fields) or 'none (single channel)'}"
            )
        return _map_leaves(self, lambda leaf: leaf._field(name))

    def _field(self, name: str) -> Instruction:
        raise NotImplementedError

    # --- operators ---
    def __add__(self, other: Instruction) -> Instruction:
        if not isinstance(other, Instruction):
            return NotImplemented
        return concatenate(self, other)

    def __mul__(self, repetitions: int) -> Instruction:
        if not isinstance(repetitions, int) or isinstance(repetitions, bool):
            return NotImplemented
        return repeat(self, repetitions)

    __rmul__ = __mul__

    # --- equality ---
    def _same(self, other: Instruction) -> bool:
        """Structural equality (same node type and same content)."""
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Instruction):
            return NotImplemented
        if self is other:
            return True
        if self._length != other._length or self._dtype != other._dtype:
            return False
        if self._same(other):
            return True
        sentinel = object()
        for left, right in _zip_longest(self._merged_runs(), other._merged_runs(), sentinel):
            if left is sentinel or right is sentinel:
                return False
            if left[0] != right[0] or not _scalar_equal(left[1], right[1]):
                return False
        return True

    def __hash__(self) -> int:
        return hash((self._length, self._dtype.str, self._dtype.names))

    def __repr__(self) -> str:
        return self._repr(0)

    def _repr(self, depth: int) -> str:
        raise NotImplementedError


def _zip_longest(a: Iterator[Any], b: Iterator[Any], fill: Any) -> Iterator[tuple[Any, Any]]:
    while True:
        x = next(a, fill)
        y = next(b, fill)
        if x is fill and y is fill:
            return
        yield x, y


class Pattern(Instruction):
    """Explicit values, one per tick (a read-only 1-D numpy array)."""

    __slots__ = ("_bytes", "values")

    values: np.ndarray

    def __init__(self, values: np.ndarray) -> None:
        self._bytes: bytes | None = None
        array = np.asarray(values)
        if array.ndim != 1:
            raise InstructionError(f"a pattern is 1-D, got shape {array.shape}")
        self.values = _frozen(array)
        self._length = len(array)
        self._dtype = array.dtype

    def children(self) -> tuple[Instruction, ...]:
        return ()

    def leaf_values(self) -> int:
        return self._length

    def _fill(self, out: np.ndarray) -> None:
        out[:] = self.values

    def _runs(self) -> Iterator[tuple[int, Any]]:
        values = self.values
        if not len(values):
            return
        changes = np.flatnonzero(values[1:] != values[:-1]) + 1
        starts = [0, *changes.tolist()]
        stops = [*changes.tolist(), len(values)]
        for start, stop in zip(starts, stops, strict=True):
            yield stop - start, values[start]

    def constant_value(self) -> Any | None:
        return self.values[0] if self._length == 1 else None

    def _value_at(self, tick: int) -> Any:
        return self.values[tick]

    def _take(self, ticks: np.ndarray, out: np.ndarray) -> None:
        out[:] = self.values[ticks]

    def _slice(self, start: int, stop: int) -> Instruction:
        return pattern(self.values[start:stop])

    def _field(self, name: str) -> Instruction:
        return pattern(self.values[name])

    def _same(self, other: Instruction) -> bool:
        return (
            type(other) is Pattern
            and other._length == self._length
            and other._dtype == self._dtype
            and self._key() == other._key()
        )

    def _key(self) -> bytes:
        key = self._bytes
        if key is None:
            key = self._bytes = self.values.tobytes()
        return key

    def _repr(self, depth: int) -> str:
        shown = self.values.tolist()
        text = repr(shown[:8])[:-1] + (", ...]" if len(shown) > 8 else "]")
        return f"Pattern({text})"


class Concatenated(Instruction):
    """Parts played one after the other (build with :func:`concatenate`)."""

    __slots__ = ("_offsets", "parts")

    parts: tuple[Instruction, ...]

    def __init__(self, parts: Sequence[Instruction]) -> None:
        if not parts:
            raise InstructionError("a concatenation needs at least one part")
        dtype = parts[0].dtype
        for part in parts:
            if part.dtype != dtype:
                raise InstructionError(
                    f"cannot concatenate instructions of dtypes {dtype} and {part.dtype}"
                )
        self.parts = tuple(parts)
        offsets = [0]
        for part in self.parts:
            offsets.append(offsets[-1] + part.length)
        self._offsets = offsets
        self._length = offsets[-1]
        self._dtype = dtype

    def children(self) -> tuple[Instruction, ...]:
        return self.parts

    def _fill(self, out: np.ndarray) -> None:
        for part, start, stop in zip(self.parts, self._offsets, self._offsets[1:], strict=False):
            part._fill(out[start:stop])

    def _runs(self) -> Iterator[tuple[int, Any]]:
        for part in self.parts:
            yield from part._runs()

    def _value_at(self, tick: int) -> Any:
        index = bisect.bisect_right(self._offsets, tick) - 1
        return self.parts[index]._value_at(tick - self._offsets[index])

    def _take(self, ticks: np.ndarray, out: np.ndarray) -> None:
        index = np.searchsorted(self._offsets, ticks, side="right") - 1
        for i in np.unique(index).tolist():
            mask = index == i
            sub = np.empty(int(mask.sum()), dtype=self._dtype)
            self.parts[i]._take(ticks[mask] - self._offsets[i], sub)
            out[mask] = sub

    def _slice(self, start: int, stop: int) -> Instruction:
        first = bisect.bisect_right(self._offsets, start) - 1
        last = bisect.bisect_left(self._offsets, stop) - 1
        pieces = []
        for index in range(first, last + 1):
            offset = self._offsets[index]
            part = self.parts[index]
            pieces.append(part[max(start - offset, 0) : min(stop - offset, part.length)])
        return concatenate(*pieces)

    def _field(self, name: str) -> Instruction:  # pragma: no cover - _map_leaves recurses
        raise AssertionError

    def _same(self, other: Instruction) -> bool:
        return (
            isinstance(other, Concatenated)
            and len(other.parts) == len(self.parts)
            and all(a._same(b) for a, b in zip(self.parts, other.parts, strict=True))
        )

    def _repr(self, depth: int) -> str:
        if depth > 3:
            return f"Concatenated(<{len(self.parts)} parts>)"
        inner = ", ".join(part._repr(depth + 1) for part in self.parts[:6])
        more = ", ..." if len(self.parts) > 6 else ""
        return f"Concatenated([{inner}{more}])"


class Repeated(Instruction):
    """One instruction played ``repetitions`` times (build with :func:`repeat`)."""

    __slots__ = ("instruction", "repetitions")

    instruction: Instruction
    repetitions: int

    def __init__(self, repetitions: int, instruction: Instruction) -> None:
        if not _valid_repetitions(repetitions):
            raise InstructionError(f"repetitions is an integer >= 0, got {repetitions!r}")
        self.instruction = instruction
        self.repetitions = repetitions
        self._length = repetitions * instruction.length
        self._dtype = instruction.dtype

    def children(self) -> tuple[Instruction, ...]:
        return (self.instruction,)

    def _fill(self, out: np.ndarray) -> None:
        period = self.instruction.length
        if not period:
            return
        self.instruction._fill(out[:period])
        filled = period
        while filled < self._length:  # doubling copies: O(log n) numpy calls
            size = min(filled, self._length - filled)
            out[filled : filled + size] = out[:size]
            filled += size

    def _runs(self) -> Iterator[tuple[int, Any]]:
        value = self.instruction.constant_value()
        if value is not None:
            yield self._length, value
            return
        for _ in range(self.repetitions):
            yield from self.instruction._runs()

    def constant_value(self) -> Any | None:
        return self.instruction.constant_value()

    def _value_at(self, tick: int) -> Any:
        return self.instruction._value_at(tick % self.instruction.length)

    def _take(self, ticks: np.ndarray, out: np.ndarray) -> None:
        self.instruction._take(ticks % self.instruction.length, out)

    def _slice(self, start: int, stop: int) -> Instruction:
        period = self.instruction.length
        first, offset = divmod(start, period)
        last, rest = divmod(stop, period)
        if first == last:
            return self.instruction[offset:rest]
        pieces = []
        if offset:
            pieces.append(self.instruction[offset:])
            first += 1
        pieces.append(repeat(self.instruction, last - first))
        if rest:
            pieces.append(self.instruction[:rest])
        return concatenate(*pieces)

    def _field(self, name: str) -> Instruction:  # pragma: no cover - _map_leaves recurses
        raise AssertionError

    def _same(self, other: Instruction) -> bool:
        return (
            isinstance(other, Repeated)
            and other.repetitions == self.repetitions
            and self.instruction._same(other.instruction)
        )

    def _repr(self, depth: int) -> str:
        return f"Repeated({self.repetitions}, {self.instruction._repr(depth + 1)})"


class LinearRamp(Instruction):
    """Values on a straight line: tick ``i`` holds ``start + (stop - start) * (first + i) / span``.

    ``start`` is the value at the line's tick 0 and ``stop`` its value at tick ``span`` (not
    played); the instruction plays ticks ``first .. first + length - 1`` of the line, so slices
    stay exact. Build with :func:`linear_ramp`. Stacked (structured) ramps hold records:
    floating fields follow their own line, other fields must keep one value.
    """

    __slots__ = ("first", "span", "start", "stop")

    start: np.ndarray
    stop: np.ndarray
    span: int
    first: int

    def __init__(self, start: Any, stop: Any, span: int, first: int = 0, length: int | None = None,
                 dtype: Any = None) -> None:  # fmt: skip
        start_array = np.asarray(start, dtype=dtype)
        dtype = start_array.dtype if dtype is None else np.dtype(dtype)
        stop_array = np.asarray(stop, dtype=dtype)
        if start_array.shape != () or stop_array.shape != ():
            raise InstructionError("a ramp's start and stop are single values")
        if span < 1:
            raise InstructionError(f"a ramp spans at least one tick, got {span}")
        length = span - first if length is None else length
        if first < 0 or length < 0:
            raise InstructionError("a ramp's first tick and length are >= 0")
        for name in dtype.names or ():
            if dtype[name].kind != "f" and start_array[name] != stop_array[name]:
                raise InstructionError(f"field {name!r} of dtype {dtype[name]} cannot ramp")
        if not dtype.names and dtype.kind != "f":
            raise InstructionError(f"only floating values can ramp, not {dtype}")
        self.start = _frozen(start_array)
        self.stop = _frozen(stop_array)
        self.span = span
        self.first = first
        self._length = length
        self._dtype = dtype

    def children(self) -> tuple[Instruction, ...]:
        return ()

    def leaf_values(self) -> int:
        return 2

    def _line(self, start: Any, stop: Any, ticks: np.ndarray, out: np.ndarray) -> None:
        out[:] = start + (stop - start) * ticks / self.span

    def _compute(self, ticks: np.ndarray, out: np.ndarray) -> None:
        names = self._dtype.names
        if not names:
            self._line(self.start[()], self.stop[()], ticks, out)
            return
        for name in names:
            if self._dtype[name].kind == "f":
                self._line(self.start[name], self.stop[name], ticks, out[name])
            else:
                out[name] = self.start[name]

    def _fill(self, out: np.ndarray) -> None:
        self._compute(np.arange(self.first, self.first + self._length), out)

    def _runs(self) -> Iterator[tuple[int, Any]]:
        if _scalar_equal(self.start, self.stop):
            yield self._length, self.start[()]
            return
        step = 65536
        for chunk_start in range(0, self._length, step):
            chunk = np.empty(min(step, self._length - chunk_start), dtype=self._dtype)
            ticks = np.arange(self.first + chunk_start, self.first + chunk_start + len(chunk))
            self._compute(ticks, chunk)
            for value in chunk:
                yield 1, value

    def _value_at(self, tick: int) -> Any:
        if not self._dtype.names:  # same operations, in the same order, as _line
            start, stop = self.start[()], self.stop[()]
            return start + (stop - start) * (self.first + tick) / self.span
        out = np.empty(1, dtype=self._dtype)
        self._compute(np.array([self.first + tick]), out)
        return out[0]

    def _take(self, ticks: np.ndarray, out: np.ndarray) -> None:
        self._compute(ticks + self.first, out)

    def _slice(self, start: int, stop: int) -> Instruction:
        return LinearRamp(self.start, self.stop, self.span, self.first + start, stop - start)

    def _field(self, name: str) -> Instruction:
        start, stop = self.start[name], self.stop[name]
        if self._dtype[name].kind != "f":
            return constant(start, self._length)
        return LinearRamp(start, stop, self.span, self.first, self._length)

    def _same(self, other: Instruction) -> bool:
        return (
            isinstance(other, LinearRamp)
            and (other.span, other.first, other._length) == (self.span, self.first, self._length)
            and _scalar_equal(self.start, other.start)
            and _scalar_equal(self.stop, other.stop)
        )

    def _repr(self, depth: int) -> str:
        return (
            f"LinearRamp({self.start.tolist()!r}, {self.stop.tolist()!r}, span={self.span}, "
            f"first={self.first}, length={self._length})"
        )


# --- fast constructors (internal paths: arguments already valid) ------------------------------


def _new_pattern(values: np.ndarray) -> Pattern:
    """A :class:`Pattern` of ``values``, a read-only 1-D array (not checked)."""
    node = object.__new__(Pattern)
    node._bytes = None
    node.values = values
    node._length = len(values)
    node._dtype = values.dtype
    return node


def _new_repeated(repetitions: int, instruction: Instruction) -> Repeated:
    """A :class:`Repeated`; ``repetitions`` is an int >= 0 (not checked)."""
    node = object.__new__(Repeated)
    node.instruction = instruction
    node.repetitions = repetitions
    node._length = repetitions * instruction._length
    node._dtype = instruction._dtype
    return node


def _new_concatenated(parts: Sequence[Instruction], dtype: np.dtype[Any]) -> Concatenated:
    """A :class:`Concatenated` of parts of dtype ``dtype`` (not checked)."""
    node = object.__new__(Concatenated)
    node.parts = tuple(parts)
    offsets = [0, *itertools.accumulate(part._length for part in node.parts)]
    node._offsets = offsets
    node._length = offsets[-1]
    node._dtype = dtype
    return node


def _new_ramp(
    start: np.ndarray, stop: np.ndarray, span: int, first: int, length: int
) -> LinearRamp:
    """A :class:`LinearRamp` from read-only 0-d arrays of one valid dtype (not checked)."""
    node = object.__new__(LinearRamp)
    node.start = start
    node.stop = stop
    node.span = span
    node.first = first
    node._length = length
    node._dtype = start.dtype
    return node


def _single(value: Any, dtype: Any) -> Pattern:
    """A one-tick pattern of ``value``; the two bool ones are shared (instructions are
    immutable)."""
    if dtype is np.bool_ and (value is True or value is False):
        return _BOOL_LEAVES[value]
    array = np.array([value], dtype=dtype)
    array.flags.writeable = False
    return _new_pattern(array) if array.ndim == 1 else Pattern(array)


def _read_only(values: np.ndarray) -> np.ndarray:
    values.flags.writeable = False
    return values


_BOOL_LEAVES = {
    value: _new_pattern(_read_only(np.array([value], dtype=np.bool_))) for value in (False, True)
}


# --- building functions ------------------------------------------------------------------------


def empty(dtype: Any) -> Instruction:
    """An instruction of no tick."""
    array = np.empty(0, dtype=dtype)
    array.flags.writeable = False
    return _new_pattern(array)


def pattern(values: Any, dtype: Any = None) -> Instruction:
    """Explicit values; an all-equal pattern becomes a repetition of one value.

    >>> pattern([1, 1, 1])
    Repeated(3, Pattern([1]))
    """
    array = np.asarray(values, dtype=dtype)
    if array.ndim != 1:
        raise InstructionError(f"a pattern is 1-D, got shape {array.shape}")
    if len(array) > 1 and bool(np.all(array[1:] == array[0])):
        return Repeated(len(array), Pattern(array[:1]))
    return Pattern(array)


def constant(value: Any, length: int, dtype: Any = None) -> Instruction:
    """``value`` held for ``length`` ticks, in O(1) memory.

    >>> constant(0.5, 10**9).node_count()
    2
    """
    if length == 0:
        return empty(dtype if dtype is not None else np.asarray(value).dtype)
    if type(length) is int and length > 0:
        leaf = _single(value, dtype)
        return leaf if length == 1 else _new_repeated(length, leaf)
    return repeat(_single(value, dtype), length)


def _valid_repetitions(repetitions: Any) -> bool:
    if type(repetitions) is int:  # the common case, without the isinstance checks
        return repetitions >= 0
    return not isinstance(repetitions, bool) and isinstance(repetitions, int) and repetitions >= 0


def repeat(instruction: Instruction, repetitions: int) -> Instruction:
    """``instruction`` played ``repetitions`` times; a repetition of a repetition flattens."""
    if not _valid_repetitions(repetitions):
        raise InstructionError(f"repetitions is an integer >= 0, got {repetitions!r}")
    if repetitions == 0 or instruction._length == 0:
        return empty(instruction._dtype)
    if repetitions == 1:
        return instruction
    if isinstance(instruction, Repeated):
        return _new_repeated(repetitions * instruction.repetitions, instruction.instruction)
    return _new_repeated(repetitions, instruction)


def linear_ramp(start: Any, stop: Any, length: int, dtype: Any = np.float64) -> Instruction:
    """``length`` ticks going linearly from ``start`` (first tick) towards ``stop`` (the value
    one tick after the last).

    >>> linear_ramp(0.0, 4.0, 4).to_array().tolist()
    [0.0, 1.0, 2.0, 3.0]
    """
    if length == 0:
        return empty(dtype)
    ramp = LinearRamp(start, stop, length, dtype=dtype)
    if _scalar_equal(ramp.start, ramp.stop):
        return constant(ramp.start[()], length, dtype=ramp.dtype)
    return ramp


def _unrepeat(instruction: Instruction) -> tuple[int, Instruction]:
    if isinstance(instruction, Repeated):
        return instruction.repetitions, instruction.instruction
    return 1, instruction


def _merge_pair(left: Instruction, right: Instruction) -> Instruction | None:
    n_left, inner_left = _unrepeat(left)
    n_right, inner_right = _unrepeat(right)
    if inner_left._length == inner_right._length and inner_left._same(inner_right):
        return _new_repeated(n_left + n_right, inner_left)
    if (
        isinstance(left, Pattern)
        and isinstance(right, Pattern)
        and left._length + right._length <= _SMALL_PATTERN
    ):
        return Pattern(np.concatenate([left.values, right.values]))
    if (
        isinstance(left, LinearRamp)
        and isinstance(right, LinearRamp)
        and left.span == right.span
        and right.first == left.first + left._length
        and _scalar_equal(left.start, right.start)
        and _scalar_equal(left.stop, right.stop)
    ):
        return _new_ramp(left.start, left.stop, left.span, left.first, left._length + right._length)
    return None


def concatenate(*instructions: Instruction) -> Instruction:
    """The instructions one after the other (all of one dtype).

    Nested concatenations flatten, empty parts vanish, and neighbouring equal parts merge into
    a repetition (``a + a`` is ``repeat(a, 2)``; ``repeat(a, 2) + a`` is ``repeat(a, 3)``).
    """
    if not instructions:
        raise InstructionError("concatenate needs at least one instruction")
    dtype = instructions[0].dtype
    out: list[Instruction] = []
    for instruction in instructions:
        if instruction._dtype is not dtype and instruction._dtype != dtype:
            raise InstructionError(
                f"cannot concatenate instructions of dtypes {dtype} and {instruction.dtype}"
            )
        parts = instruction.parts if isinstance(instruction, Concatenated) else (instruction,)
        for part in parts:
            if part._length == 0:
                continue
            while out:
                merged = _merge_pair(out[-1], part)
                if merged is None:
                    break
                out.pop()
                part = merged
            out.append(part)
    if not out:
        return empty(dtype)
    if len(out) == 1:
        return out[0]
    return _new_concatenated(out, dtype)


# --- combining aligned instructions ------------------------------------------------------------


def _map_leaves(
    instruction: Instruction, function: Callable[[Instruction], Instruction]
) -> Instruction:
    """Apply ``function`` to every leaf (pattern or ramp), keeping the tree's shape."""
    if isinstance(instruction, Repeated):
        return repeat(_map_leaves(instruction.instruction, function), instruction.repetitions)
    if isinstance(instruction, Concatenated):
        return concatenate(*(_map_leaves(part, function) for part in instruction.parts))
    return function(instruction)


class _Combiner:
    """How aligned instructions (of equal length) are combined into one."""

    def constant(self, values: list[Any], length: int) -> Instruction:
        raise NotImplementedError

    def dense_values(self, arrays: list[np.ndarray]) -> np.ndarray:
        """The combined values of aligned arrays."""
        raise NotImplementedError

    def records(self, rows: list[tuple[Any, ...]], parts: Sequence[Instruction]) -> np.ndarray:
        """The combined values (read-only) of ``rows``, each holding one value per input."""
        arrays = [
            np.array(column, dtype=part._dtype)
            for column, part in zip(zip(*rows, strict=True), parts, strict=True)
        ]
        return _frozen(np.asarray(self.dense_values(arrays)))

    def dense(self, arrays: list[np.ndarray]) -> Instruction:
        """The combined values of aligned arrays, as an instruction."""
        return pattern(self.dense_values(arrays))

    def leaves(self, leaves: list[Instruction]) -> Instruction:
        """Aligned leaves (patterns, ramps or constants) of one length."""
        length = leaves[0].length
        if length > MAX_DENSE_LENGTH:
            raise InstructionError(
                f"cannot combine {length} ticks without expanding them (limit {MAX_DENSE_LENGTH})"
            )
        return self.dense([leaf.to_array() for leaf in leaves])


def _breakpoints(instruction: Instruction) -> list[int]:
    if isinstance(instruction, Concatenated):
        return instruction._offsets[1:-1]
    return []


_MAX_UNROLL = 64


def combine(parts: Sequence[Instruction], combiner: _Combiner) -> Instruction:
    """Combine instructions of equal length tick by tick, keeping the result compact."""
    length = parts[0].length
    for part in parts:
        if part.length != length:
            raise InstructionError(
                f"cannot combine instructions of {length} and {part.length} ticks"
            )
    if length == 0:
        return combiner.dense([part.to_array() for part in parts])
    values = [part.constant_value() for part in parts]
    variable = [i for i, value in enumerate(values) if value is None]
    if not variable:
        return combiner.constant(values, length)
    flat = [_flat_atoms(part) for part in parts]
    if all(atoms is not None for atoms in flat):
        return _combine_flat(flat, parts, combiner)  # type: ignore[arg-type]
    if len(variable) == 1:
        index = variable[0]

        def leaf(node: Instruction) -> Instruction:
            aligned = [
                node if i == index else constant(values[i], node.length, parts[i].dtype)
                for i in range(len(parts))
            ]
            return combiner.leaves(aligned)

        return _map_leaves(parts[index], leaf)
    cuts = sorted({cut for part in parts for cut in _breakpoints(part)})
    if cuts:
        bounds = [0, *cuts, length]
        return concatenate(
            *(
                combine([part[start:stop] for part in parts], combiner)
                for start, stop in itertools.pairwise(bounds)
            )
        )
    repeated = [part for part in (parts[i] for i in variable) if isinstance(part, Repeated)]
    if len(repeated) == len(variable):
        period = math.lcm(*(part.instruction.length for part in repeated))
        if period < length:
            inner = [part[:period] for part in parts]
            return repeat(combine(inner, combiner), length // period)
        unrolled = [
            Concatenated([part.instruction] * part.repetitions)
            if isinstance(part, Repeated) and part.repetitions <= _MAX_UNROLL
            else part
            for part in parts
        ]
        if any(isinstance(part, Concatenated) for part in unrolled):
            return combine(unrolled, combiner)
    leaves = [parts[i] for i in variable]
    if all(not part.children() for part in leaves):
        return combiner.leaves(list(parts))
    if length > MAX_DENSE_LENGTH:
        raise InstructionError(
            f"cannot combine {length} ticks without expanding them (limit {MAX_DENSE_LENGTH})"
        )
    return combiner.dense([part.to_array() for part in parts])


_MAX_FAST_RUNS = 512

_Atom = tuple[int, Any, "Instruction | None"]
"""``(length, constant value or None, leaf or None)``: one flat piece of an instruction."""


def _atom(node: Instruction) -> _Atom | None:
    value = node.constant_value()
    if value is not None:
        return (node._length, value, None)
    if type(node) is LinearRamp or type(node) is Pattern:
        return (node._length, None, node)
    return None


def _flat_atoms(instruction: Instruction) -> list[_Atom] | None:
    """The instruction as a flat list of constants and leaves (else ``None``)."""
    if type(instruction) is Concatenated:
        if len(instruction.parts) > _MAX_FAST_RUNS:
            return None
        atoms = []
        for part in instruction.parts:
            atom = _atom(part)
            if atom is None:
                return None
            atoms.append(atom)
        return atoms
    atom = _atom(instruction)
    return None if atom is None else [atom]


def _constant_runs(instruction: Instruction) -> list[tuple[int, Any]] | None:
    """``(length, value)`` runs of an instruction made only of constants (else ``None``)."""
    atoms = _flat_atoms(instruction)
    if atoms is None or any(leaf is not None for _, _, leaf in atoms):
        return None
    return [(length, value) for length, value, _ in atoms]


def _combine_flat(
    flat: list[list[_Atom]], parts: Sequence[Instruction], combiner: _Combiner
) -> Instruction:
    """Combine flat instructions interval by interval, without slicing trees; the intervals
    where every input is constant are combined in one numpy call."""
    cumulative = [list(itertools.accumulate(atom[0] for atom in atoms)) for atoms in flat]
    ends = sorted(set().union(*cumulative))
    count = len(flat)
    rows: list[tuple[Any, ...]] = []
    constant_intervals: list[tuple[int, int, int]] = []  # (piece index, start, stop)
    pieces: list[Instruction | None] = []
    indices = [0] * count
    start = 0
    for end in ends:
        current = []
        only_constants = True
        for k in range(count):
            stops = cumulative[k]
            index = indices[k]
            while end > stops[index]:
                index += 1
            indices[k] = index
            atom = flat[k][index]
            if atom[2] is not None:
                only_constants = False
            current.append(atom)
        if only_constants:
            rows.append(tuple(atom[1] for atom in current))
            constant_intervals.append((len(pieces), start, end))
            pieces.append(None)
        else:
            starts = [cumulative[k][indices[k]] - current[k][0] for k in range(count)]
            pieces.append(_combine_leaves(current, starts, parts, start, end, combiner))
        start = end
    if constant_intervals:
        values = combiner.records(rows, parts)
        for i, (index, first, stop) in enumerate(constant_intervals):
            leaf = _new_pattern(values[i : i + 1])
            pieces[index] = leaf if stop - first == 1 else _new_repeated(stop - first, leaf)
    return concatenate(*(piece for piece in pieces if piece is not None))


def _combine_leaves(
    atoms: list[_Atom],
    atom_starts: list[int],
    parts: Sequence[Instruction],
    start: int,
    end: int,
    combiner: _Combiner,
) -> Instruction:
    """The combination of ticks ``[start, end)``, where input ``k`` is the atom ``atoms[k]``
    beginning at tick ``atom_starts[k]``."""
    aligned = [
        constant(value, end - start, parts[k]._dtype)
        if leaf is None
        else leaf[start - atom_starts[k] : end - atom_starts[k]]
        for k, (_, value, leaf) in enumerate(atoms)
    ]
    return combiner.leaves(aligned)


class _Stacker(_Combiner):
    def __init__(self, names: Sequence[str], dtype: np.dtype[Any]) -> None:
        self.names = list(names)
        self.dtype = dtype

    def constant(self, values: list[Any], length: int) -> Instruction:
        record = np.zeros(1, dtype=self.dtype)
        for name, value in zip(self.names, values, strict=True):
            record[name] = value
        return repeat(Pattern(record), length)

    def records(self, rows: list[tuple[Any, ...]], parts: Sequence[Instruction]) -> np.ndarray:
        # the values are numpy scalars of the fields' dtypes: one call, exact
        return _read_only(np.array(rows, dtype=self.dtype))

    def dense_values(self, arrays: list[np.ndarray]) -> np.ndarray:
        out = np.empty(len(arrays[0]), dtype=self.dtype)
        for name, array in zip(self.names, arrays, strict=True):
            out[name] = array
        return out

    def leaves(self, leaves: list[Instruction]) -> Instruction:
        ramps = [leaf for leaf in leaves if isinstance(leaf, LinearRamp)]
        if ramps:
            first = ramps[0]
            geometry = (first.span, first.first, first.length)
            if all(
                (isinstance(leaf, LinearRamp) and (leaf.span, leaf.first, leaf.length) == geometry)
                or leaf.constant_value() is not None
                for leaf in leaves
            ):
                starts: list[Any] = []
                stops: list[Any] = []
                for leaf in leaves:
                    if isinstance(leaf, LinearRamp):
                        starts.append(leaf.start[()])
                        stops.append(leaf.stop[()])
                    else:
                        starts.append(leaf.constant_value())
                        stops.append(starts[-1])
                # non-float fields are constants (only floats ramp): a valid ramp, unchecked
                start = _read_only(np.array(tuple(starts), dtype=self.dtype))
                stop = _read_only(np.array(tuple(stops), dtype=self.dtype))
                return _new_ramp(start, stop, first.span, first.first, first.length)
        return super().leaves(leaves)


def stack_channels(channels: Mapping[str, Instruction]) -> Instruction:
    """Several single-channel instructions of one length side by side, as one instruction with
    a structured dtype (one field per channel, in the mapping's order).

    Stacking keeps trees compact: constants are broadcast into the others' structure and
    repetitions of commensurate periods stay repetitions.
    """
    if not channels:
        raise InstructionError("stack_channels needs at least one channel")
    names = list(channels)
    parts = [channels[name] for name in names]
    for name, part in zip(names, parts, strict=True):
        if part.dtype.names:
            raise InstructionError(f"channel {name!r} is already stacked")
    lengths = {part.length for part in parts}
    if len(lengths) > 1:
        described = ", ".join(f"{n}: {p.length}" for n, p in zip(names, parts, strict=True))
        raise InstructionError(f"channels to stack have different lengths ({described})")
    dtype = _record_dtype(
        tuple((name, part.dtype) for name, part in zip(names, parts, strict=True))
    )
    return combine(parts, _Stacker(names, dtype))


@functools.lru_cache(maxsize=256)
def _record_dtype(fields: tuple[tuple[str, np.dtype[Any]], ...]) -> np.dtype[Any]:
    return np.dtype(list(fields))


class _Elementwise(_Combiner):
    def __init__(self, function: Callable[..., Any], dtype: Any) -> None:
        self.function = function
        self.dtype = np.dtype(dtype)

    def constant(self, values: list[Any], length: int) -> Instruction:
        return constant(self.function(*values), length, self.dtype)

    def dense_values(self, arrays: list[np.ndarray]) -> np.ndarray:
        return np.asarray(self.function(*arrays), dtype=self.dtype)


def map_values(
    function: Callable[..., Any], *instructions: Instruction, dtype: Any = None
) -> Instruction:
    """Apply a vectorised ``function`` tick by tick to aligned instructions, keeping the tree
    compact (``map_values(np.logical_and, a, b, dtype=bool)``)."""
    dtype = instructions[0].dtype if dtype is None else dtype
    return combine(list(instructions), _Elementwise(function, dtype))

"""Run-length time lanes: one value per block, a block spanning one or more steps."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Self, TypeVar

from ._expression import Expression

T = TypeVar("T")


class TimeLaneError(ValueError):
    """A lane or a table of lanes that is not well formed; the message says where."""


@dataclass(frozen=True)
class Ramp:
    """An analog block that joins the value at the end of the previous block to the
    value at the start of the next one, linearly in time."""

    def __str__(self) -> str:
        return "ramp"


@dataclass(frozen=True)
class TakePicture:
    """A camera block: take one picture, named ``picture``, during the block."""

    picture: str

    def __post_init__(self) -> None:
        if not isinstance(self.picture, str) or not self.picture.strip():
            raise TimeLaneError(f"a picture needs a non-empty name, got {self.picture!r}")

    def __str__(self) -> str:
        return self.picture


class TimeLane(Generic[T]):
    """A lane's values over the steps of a shot, stored as blocks ``(value, span)``.

    Lanes are immutable: every edit returns a new lane.

    >>> lane = DigitalTimeLane.from_blocks([(True, 2), (False, 1)])
    >>> len(lane), lane[1], lane.block_bounds()
    (3, True, [(0, 2), (2, 3)])
    >>> lane.with_value(1, 3, True).blocks
    ((True, 3),)
    """

    kind: ClassVar[str] = "lane"

    __slots__ = ("_blocks",)

    def __init__(self, values: Iterable[Any]) -> None:
        """One block per step, holding ``values`` (equal neighbours are not merged)."""
        self._blocks: tuple[tuple[T, int], ...] = self.normalise_blocks(
            tuple((self.check_value(value), 1) for value in values)
        )
        self._validate()

    @classmethod
    def from_blocks(cls, blocks: Iterable[tuple[Any, int]]) -> Self:
        """Build from ``(value, span)`` pairs; each span is a number of steps >= 1."""
        new = cls.__new__(cls)
        checked = []
        for index, block in enumerate(blocks):
            value, span = block
            if isinstance(span, bool) or not isinstance(span, int) or span < 1:
                raise TimeLaneError(
                    f"{cls.__name__}: block {index + 1} spans {span!r} steps; a span is an "
                    "integer >= 1"
                )
            checked.append((new.check_value(value), span))
        new._blocks = new.normalise_blocks(tuple(checked))
        new._validate()
        return new

    # --- hooks for subclasses (a TimeLaneExtension's lane type overrides them) ---
    def check_value(self, value: Any) -> T:
        """The value to store for ``value`` typed in a cell; raise ``TimeLaneError`` (naming
        what is wrong) to refuse it. The default keeps any value."""
        return value

    def normalise_blocks(self, blocks: tuple[tuple[T, int], ...]) -> tuple[tuple[T, int], ...]:
        """The blocks to store for ``blocks`` (e.g. equal neighbours merged into one block).
        The default keeps them as they are."""
        return blocks

    def value_for_new_step(self, neighbour: Any) -> Any:
        """The value of a step inserted at a block boundary next to ``neighbour``."""
        return neighbour

    def _validate(self) -> None:
        if not self._blocks:
            raise TimeLaneError(f"{type(self).__name__} needs at least one step")

    # --- reading ---
    @property
    def blocks(self) -> tuple[tuple[T, int], ...]:
        """The ``(value, span)`` pairs."""
        return self._blocks

    def block_values(self) -> list[T]:
        """The value of each block."""
        return [value for value, _ in self._blocks]

    def block_spans(self) -> list[int]:
        """How many steps each block covers."""
        return [span for _, span in self._blocks]

    def block_bounds(self) -> list[tuple[int, int]]:
        """The ``[start, stop)`` step indices of each block."""
        bounds = []
        start = 0
        for _, span in self._blocks:
            bounds.append((start, start + span))
            start += span
        return bounds

    def block_index(self, step: int) -> int:
        """The index of the block that covers ``step``."""
        step = self._check_step(step)
        for index, (start, stop) in enumerate(self.block_bounds()):
            if start <= step < stop:
                return index
        raise AssertionError("unreachable")  # pragma: no cover

    def __len__(self) -> int:
        return sum(span for _, span in self._blocks)

    def __getitem__(self, step: int) -> T:
        return self._blocks[self.block_index(step)][0]

    def __iter__(self) -> Iterator[T]:
        for value, span in self._blocks:
            for _ in range(span):
                yield value

    def _check_step(self, step: int, *, allow_end: bool = False) -> int:
        length = len(self)
        if step < 0:
            step += length
        upper = length if allow_end else length - 1
        if not 0 <= step <= upper:
            raise IndexError(f"step {step} is outside the lane's {length} steps")
        return step

    # --- editing (each returns a new lane) ---
    def _replace_blocks(self, blocks: Sequence[tuple[Any, int]]) -> Self:
        return type(self).from_blocks(blocks)

    def _cells(self) -> list[tuple[T, int]]:
        """(value, block id) per step."""
        cells = []
        for block_id, (value, span) in enumerate(self._blocks):
            cells.extend([(value, block_id)] * span)
        return cells

    @staticmethod
    def _blocks_from_cells(cells: Sequence[tuple[Any, int]]) -> list[tuple[Any, int]]:
        blocks: list[tuple[Any, int]] = []
        previous_id: object = object()
        for value, block_id in cells:
            if blocks and block_id == previous_id:
                blocks[-1] = (blocks[-1][0], blocks[-1][1] + 1)
            else:
                blocks.append((value, 1))
            previous_id = block_id
        return blocks

    def with_value(self, start: int, stop: int, value: Any) -> Self:
        """Set steps ``[start, stop)`` to one new block holding ``value``."""
        start = self._check_step(start)
        stop = self._check_step(stop, allow_end=True)
        if stop <= start:
            raise IndexError(f"empty step range [{start}, {stop})")
        cells: list[tuple[Any, int]] = [(v, i) for v, i in self._cells()]
        fresh = -1
        for step in range(start, stop):
            cells[step] = (value, fresh)
        # blocks cut by the new one get distinct ids on each side
        return self._replace_blocks(self._blocks_from_cells(_renumber(cells)))

    def merged(self, start: int, stop: int) -> Self:
        """Merge the blocks covering steps ``[start, stop)`` into one, with the first's value."""
        start = self._check_step(start)
        stop = self._check_step(stop, allow_end=True)
        first = self.block_index(start)
        last = self.block_index(stop - 1)
        value = self._blocks[first][0]
        span = sum(s for _, s in self._blocks[first : last + 1])
        blocks = [*self._blocks[:first], (value, span), *self._blocks[last + 1 :]]
        return self._replace_blocks(blocks)

    def split(self, step: int) -> Self:
        """Split the block covering ``step`` so that a new block starts at ``step``."""
        step = self._check_step(step)
        index = self.block_index(step)
        start, stop = self.block_bounds()[index]
        if step == start:
            return self
        value = self._blocks[index][0]
        blocks = [
            *self._blocks[:index],
            (value, step - start),
            (value, stop - step),
            *self._blocks[index + 1 :],
        ]
        return self._replace_blocks(blocks)

    def inserted_step(self, step: int, value: Any | None = None) -> Self:
        """Insert a step before ``step`` (``len(lane)`` appends).

        Inside a block the block grows by one step; at a block boundary a new
        one-step block holds ``value`` (or copies the previous block's value).
        """
        step = self._check_step(step, allow_end=True)
        blocks = list(self._blocks)
        bounds = self.block_bounds()
        for index, (start, stop) in enumerate(bounds):
            if start < step < stop:
                blocks[index] = (blocks[index][0], blocks[index][1] + 1)
                return self._replace_blocks(blocks)
        index = next((i for i, (s, _) in enumerate(bounds) if s == step), len(blocks))
        if value is None:
            value = self.value_for_new_step(blocks[index - 1][0] if index > 0 else blocks[0][0])
        blocks.insert(index, (self.check_value(value), 1))
        return self._replace_blocks(blocks)

    def removed_step(self, step: int) -> Self:
        """Remove ``step``: its block shrinks, and disappears if it covered only that step."""
        step = self._check_step(step)
        index = self.block_index(step)
        value, span = self._blocks[index]
        blocks = list(self._blocks)
        if span == 1:
            del blocks[index]
        else:
            blocks[index] = (value, span - 1)
        return self._replace_blocks(blocks)

    def moved_step(self, source: int, destination: int) -> Self:
        """Move one step's cell from ``source`` to ``destination`` (as one-step blocks)."""
        cells = _renumber(self._cells())
        cell = cells.pop(self._check_step(source))
        cells.insert(destination, (cell[0], -1))
        return self._replace_blocks(self._blocks_from_cells(_renumber(cells)))

    # --- values ---
    def __eq__(self, other: object) -> bool:
        if type(other) is type(self):
            return self._blocks == other._blocks
        return NotImplemented

    def __hash__(self) -> int:
        return hash((type(self).__name__, self._blocks))

    def __repr__(self) -> str:
        blocks = ", ".join(f"({value!r}, {span})" for value, span in self._blocks)
        return f"{type(self).__name__}.from_blocks([{blocks}])"


def _renumber(cells: Sequence[tuple[Any, int]]) -> list[tuple[Any, int]]:
    """Give contiguous runs of equal block id a unique id (so split blocks stay apart)."""
    out: list[tuple[Any, int]] = []
    current = -1
    previous: object = object()
    for value, block_id in cells:
        if block_id != previous:
            current += 1
            previous = block_id
        out.append((value, current))
    return out


def _as_expression(value: Any, lane: str) -> Expression:
    if isinstance(value, Expression):
        return value
    if isinstance(value, str):
        return Expression(value)
    raise TimeLaneError(f"{lane} values are expressions, got {type(value).__name__} {value!r}")


class DigitalTimeLane(TimeLane[bool | Expression]):
    """On/off values per block: ``True``/``False`` or an expression giving a bool
    (``square_wave(t * 1 kHz)``). Neighbouring equal bools merge into one block.
    """

    kind = "digital"
    __slots__ = ()

    def check_value(self, value: Any) -> bool | Expression:
        if isinstance(value, bool):
            return value
        return _as_expression(value, "digital lane")

    def normalise_blocks(
        self, blocks: tuple[tuple[bool | Expression, int], ...]
    ) -> tuple[tuple[bool | Expression, int], ...]:
        merged: list[tuple[bool | Expression, int]] = []
        for value, span in blocks:
            if merged and isinstance(value, bool) and merged[-1][0] is value:
                merged[-1] = (value, merged[-1][1] + span)
            else:
                merged.append((value, span))
        return tuple(merged)


class AnalogTimeLane(TimeLane[Expression | Ramp]):
    """Analog values per block: an expression (may use ``t``) or a :class:`Ramp`
    joining its neighbours. A ramp cannot be the first or the last block.
    """

    kind = "analog"
    __slots__ = ()

    def check_value(self, value: Any) -> Expression | Ramp:
        if isinstance(value, Ramp):
            return value
        return _as_expression(value, "analog lane")

    def _validate(self) -> None:
        super()._validate()
        if isinstance(self._blocks[0][0], Ramp):
            raise TimeLaneError(
                "analog lane: a ramp cannot be the first block (nothing to start from)"
            )
        if isinstance(self._blocks[-1][0], Ramp):
            raise TimeLaneError("analog lane: a ramp cannot be the last block (nothing to end at)")
        for (left, _), (right, _) in zip(self._blocks, self._blocks[1:], strict=False):
            if isinstance(left, Ramp) and isinstance(right, Ramp):
                raise TimeLaneError("analog lane: two ramps cannot follow each other")


class CameraTimeLane(TimeLane[TakePicture | None]):
    """Camera blocks: take a named picture, or nothing (``None``). Picture names are unique."""

    kind = "camera"
    __slots__ = ()

    def check_value(self, value: Any) -> TakePicture | None:
        if value is None or isinstance(value, TakePicture):
            return value
        if isinstance(value, str):
            return TakePicture(value)
        raise TimeLaneError(f"camera lane values are pictures or None, got {value!r}")

    def normalise_blocks(
        self, blocks: tuple[tuple[TakePicture | None, int], ...]
    ) -> tuple[tuple[TakePicture | None, int], ...]:
        merged: list[tuple[TakePicture | None, int]] = []
        for value, span in blocks:
            if merged and value is None and merged[-1][0] is None:
                merged[-1] = (None, merged[-1][1] + span)
            else:
                merged.append((value, span))
        return tuple(merged)

    def _validate(self) -> None:
        super()._validate()
        names = [value.picture for value, _ in self._blocks if value is not None]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise TimeLaneError(f"camera lane: picture name(s) used twice: {', '.join(duplicates)}")

    def value_for_new_step(self, neighbour: Any) -> Any:
        return None  # a copied picture would duplicate its name

    def pictures(self) -> list[str]:
        """The names of the pictures, in order."""
        return [value.picture for value, _ in self._blocks if value is not None]

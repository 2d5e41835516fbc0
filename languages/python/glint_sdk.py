"""glint_sdk: tables, fields, rates, config and logging for glint plugins written in Python.

What glint-sdk gives Rust authors, for plugins built with componentize-py against glint's WIT
(`glint plugin new NAME --lang python` vendors this file and the WIT beside the plugin).
It imports the bindings componentize-py generates at build time (`wit_world`), so it works in
any of glint's worlds: input, output, exporter and exporter-http.

    from glint_sdk import Rates, Unit, field, plugin, record

    class WitWorld(wit_world.WitWorld):
        def describe(self):
            return plugin("hello", "Says hello", fields=[field("load", Unit.NUMBER, "1-min load")])

        def update(self, tick):
            return record({"load": readings.get_load().min1})
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field as _dataclass_field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Union

try:
    # In the exporter-http world wasi:http has an interface named `types` too, and
    # componentize-py names glint's after its package.
    from wit_world.imports import glint_plugin_types as types
except ImportError:
    from wit_world.imports import types
from wit_world.imports import config as _config
from wit_world.imports import log as _log

__all__ = [
    "API_VERSION", "Cell", "Layout", "Level", "PluginKind", "Rates", "Unit", "cell", "config",
    "exporter", "field", "log", "output", "percent", "plugin", "record", "round1", "rows",
    "table", "value",
]

#: The contract revision this library speaks: glint refuses a plugin built for another one.
API_VERSION = 1

Unit = types.Unit
Layout = types.Layout
PluginKind = types.PluginKind
Level = _log.Level

#: What a cell of a row may hold: `None` (no value this tick), a bool, an int, a float, a str,
#: or a list of str, of int or of float.
Cell = Union[None, bool, int, float, str, Sequence[str], Sequence[int], Sequence[float]]

_S64 = (-(2**63), 2**63 - 1)
_U64_MAX = 2**64 - 1


# ---------------------------------------------------------------------------------------------
# The handshake


def field(
    name: str, unit: types.Unit, description: str, *, rate: bool = False, history: bool = False
) -> types.FieldInfo:
    """One column of the plugin's table.

    `rate=True`: a cumulative counter, reported as its delta (`name`), the raw counter
    (`name_gauge`) and the rate (`name_rate_per_sec`): feed it to `Rates.push` every update,
    or glint refuses the table. `history=True`: glint keeps a history of it.
    """
    return types.FieldInfo(name, description, unit, rate, history)


def plugin(
    name: str,
    description: str,
    layout: types.Layout = types.Layout.RECORD,
    fields: Sequence[types.FieldInfo] = (),
    reads: Sequence[str] = (),
) -> types.PluginInfo:
    """The handshake of an input plugin. `reads`: plugins whose stats of the same tick it reads
    (through `stats`), so glint runs it after them."""
    return types.PluginInfo(
        name, description, [types.PluginKind.INPUT], API_VERSION, layout, list(fields), list(reads)
    )


def output(name: str, description: str) -> types.PluginInfo:
    """The handshake of an output plugin."""
    info = plugin(name, description)
    info.interfaces = [types.PluginKind.OUTPUT]
    return info


def exporter(name: str, description: str) -> types.PluginInfo:
    """The handshake of an exporter."""
    info = plugin(name, description)
    info.interfaces = [types.PluginKind.EXPORTER]
    return info


# ---------------------------------------------------------------------------------------------
# Tables


def value(v: Cell) -> types.Value:
    """The WIT value of a Python one. An int beyond 64 bits, or a list mixing text and
    numbers, is a `ValueError` naming it."""
    if v is None:
        return types.Value_None_()
    if isinstance(v, bool):
        return types.Value_Boolean(v)
    if isinstance(v, int):
        if _S64[0] <= v <= _S64[1]:
            return types.Value_Int(v)
        if 0 <= v <= _U64_MAX:
            return types.Value_Uint(v)
        raise ValueError(f"{v} does not fit in 64 bits")
    if isinstance(v, float):
        return types.Value_Float(v)
    if isinstance(v, str):
        return types.Value_Text(v)
    if isinstance(v, (list, tuple)):
        items = list(v)
        if all(isinstance(i, str) for i in items):
            return types.Value_TextList(items)
        if all(isinstance(i, int) and not isinstance(i, bool) for i in items):
            if all(_S64[0] <= i <= _S64[1] for i in items):
                return types.Value_IntList(items)
        if all(isinstance(i, (int, float)) and not isinstance(i, bool) for i in items):
            return types.Value_FloatList([float(i) for i in items])
        raise ValueError(f"a list cell must be all text, all ints or all numbers: {items!r}")
    raise ValueError(f"{v!r} ({type(v).__name__}) cannot be a cell: use None, bool, int, "
                     "float, str or a list of them")


def cell(v: types.Value) -> Any:
    """The Python value of a WIT one (None for none)."""
    return None if isinstance(v, types.Value_None_) else v.value


def table(rows: Iterable[Mapping[str, Cell]], key: Optional[str] = None) -> types.Table:
    """A table of `rows`, each a mapping of column to cell. The first row fixes the columns and
    their order; every later row must have the same columns. `key`: the column that names each
    row of a list plugin (`pid`, `interface_name`)."""
    columns: List[str] = []
    out: List[List[types.Value]] = []
    for i, row in enumerate(rows):
        if i == 0:
            columns = list(row.keys())
        elif list(row.keys()) != columns:
            missing = [c for c in columns if c not in row]
            extra = [c for c in row if c not in columns]
            raise ValueError(
                f"row {i} has other columns than row 0 (missing {missing}, extra {extra}, "
                "or another order): every row of a table has the same columns"
            )
        out.append([value(row[c]) for c in columns])
    if key is not None and out and key not in columns:
        raise ValueError(f"key column {key!r} is not one of the columns {columns}")
    return types.Table(key, columns, out)


def record(row: Mapping[str, Cell]) -> types.Table:
    """A one-row table (the `record` and `scalar` layouts)."""
    return table([row])


def rows(t: types.Table) -> List[Dict[str, Any]]:
    """A table's rows as dicts of Python values (what output plugins and exporters read)."""
    return [{c: cell(v) for c, v in zip(t.columns, r)} for r in t.rows]


# ---------------------------------------------------------------------------------------------
# Rates


@dataclass
class _Previous:
    seq: int
    monotonic_nanos: int
    counters: Dict[str, int]


@dataclass
class Rates:
    """Counter rates Glances 4's way, kept by the plugin between ticks.

    For a counter `f`, `push` adds `f` (the delta since the previous update), `f_gauge` (the
    raw counter) and `f_rate_per_sec`, after `time_since_update`. On an item's first tick the
    delta and the rate are None; a counter that went backwards (a reset) gives None too."""

    _previous: Dict[str, _Previous] = _dataclass_field(default_factory=dict)
    _last_seq: int = 0

    def push(self, row: Dict[str, Cell], item: str, tick: types.Tick,
             counters: Mapping[str, int]) -> None:
        if tick.seq != self._last_seq:
            # Forget items missing since the previous tick (an exited process), so the map
            # does not grow without bound.
            keep_from = self._last_seq
            self._previous = {k: p for k, p in self._previous.items() if p.seq >= keep_from}
            self._last_seq = tick.seq
        previous = self._previous.get(item)
        elapsed = None
        if previous is not None:
            elapsed = max(0, tick.monotonic_nanos - previous.monotonic_nanos) / 1e9
        row["time_since_update"] = elapsed if elapsed is not None else 0.0
        for name, raw in counters.items():
            old = previous.counters.get(name) if previous else None
            delta = raw - old if old is not None and raw >= old else None
            row[name] = delta
            row[f"{name}_gauge"] = raw
            row[f"{name}_rate_per_sec"] = (
                delta / elapsed if delta is not None and elapsed else None
            )
        self._previous[item] = _Previous(tick.seq, tick.monotonic_nanos, dict(counters))


# ---------------------------------------------------------------------------------------------
# Config, logging, numbers


def config() -> Dict[str, Any]:
    """The plugin's config section (`[plugins.NAME]`, over its manifest's `[config]`)."""
    return {k: v.value for k, v in _config.entries()}


def log(level: Union[str, _log.Level], message: str) -> None:
    """Logs into glint's log, tagged with the plugin's name: `log("warn", "...")`."""
    if isinstance(level, str):
        try:
            level = _log.Level[level.upper()]
        except KeyError:
            raise ValueError(f"log level {level!r} is not one of trace, debug, info, warn, error")
    _log.log(level, message)


def round1(v: float) -> float:
    """Rounded to one decimal, as Glances shows percentages."""
    # Half away from zero, as Rust's f64::round (Python's round() goes to the even neighbour).
    return math.copysign(math.floor(abs(v) * 10 + 0.5), v) / 10


def percent(part: float, whole: float) -> float:
    """`part` as a percentage of `whole`, to one decimal; 0 when `whole` is 0."""
    return round1(part * 100 / whole) if whole > 0 else 0.0

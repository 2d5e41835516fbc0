// glint.js: tables, fields, rates, config and logging for glint plugins written in JavaScript.
//
// What glint-sdk gives Rust authors, for plugins built with componentize-js against glint's
// WIT (`glint plugin new NAME --lang javascript` vendors this module and the WIT beside the
// plugin). An ES module with JSDoc types; the WIT's own types are in `types/` (`npm run types`).
//
//   import { field, plugin, record } from './glint.js';
//   import { getLoad } from 'glint:plugin/readings@0.1.0';
//   export const describe = () => plugin('hello', 'Says hello', { fields: [field('load', 'number', '1-min load')] });
//   export const update = () => record({ load: getLoad().min1 });

import { entries } from 'glint:plugin/config@0.1.0';
import { log as hostLog } from 'glint:plugin/log@0.1.0';

/** The contract revision this module speaks: glint refuses a plugin built for another one. */
export const API_VERSION = 1;

/**
 * @typedef {'none'|'number'|'percent'|'bytes'|'bits'|'seconds'|'milliseconds'|'hertz'|'celsius'|'rpm'|'text'|'timestamp'} Unit
 * @typedef {'record'|'list'|'scalar'} Layout
 * @typedef {{ name: string, description: string, unit: Unit, isRate: boolean, keepHistory: boolean }} FieldInfo
 * @typedef {{ name: string, description: string, interfaces: string[], apiVersion: number,
 *             layout: Layout, fields: FieldInfo[], reads: string[] }} PluginInfo
 * @typedef {{ tag: string, val?: any }} Value  a cell as the WIT variant `value`
 * @typedef {{ key: string | undefined, columns: string[], rows: Value[][] }} Table
 * @typedef {{ seq: bigint, unixNanos: bigint, monotonicNanos: bigint }} Tick
 * @typedef {null|undefined|boolean|number|bigint|string|string[]|number[]} Cell
 *          what a cell of a row may hold (null or undefined: no value this tick)
 * @typedef {Record<string, Cell>} Row
 */

// How the engine hands 64-bit integers over: componentize-js (SpiderMonkey) as bigints,
// componentize-qjs (QuickJS) as numbers. Learnt from the first tick (`guard`, `Rates.push`).
let bigInts = true;

/** Learns the engine's 64-bit integers from a tick (or a batch) it handed over. */
function learn(arg) {
  if (arg && typeof arg === 'object' && 'seq' in arg) bigInts = typeof arg.seq === 'bigint';
  else if (Array.isArray(arg) && arg.length && arg[0] && 'seq' in arg[0]) learn(arg[0]);
}

/** A 64-bit integer as the engine takes it. @param {number|bigint} n */
function int64(n) {
  return bigInts ? BigInt(n) : Number(n);
}

const S64_MIN = -(2n ** 63n);
const S64_MAX = 2n ** 63n - 1n;
const U64_MAX = 2n ** 64n - 1n;

/**
 * One column of the plugin's table. `rate`: a cumulative counter, reported as its delta
 * (`name`), the raw counter (`name_gauge`) and the rate (`name_rate_per_sec`); feed it to
 * `Rates.push` every update, or glint refuses the table. `history`: glint keeps a history.
 * @param {string} name @param {Unit} unit @param {string} description
 * @param {{ rate?: boolean, history?: boolean }} [options]
 * @returns {FieldInfo}
 */
export function field(name, unit, description, { rate = false, history = false } = {}) {
  return { name, description, unit, isRate: rate, keepHistory: history };
}

/**
 * The handshake of an input plugin. `reads`: plugins whose stats of the same tick it reads.
 * @param {string} name @param {string} description
 * @param {{ layout?: Layout, fields?: FieldInfo[], reads?: string[] }} [options]
 * @returns {PluginInfo}
 */
export function plugin(name, description, { layout = 'record', fields = [], reads = [] } = {}) {
  return { name, description, interfaces: ['input'], apiVersion: API_VERSION, layout, fields, reads };
}

/** The handshake of an output plugin. @param {string} name @param {string} description @returns {PluginInfo} */
export function output(name, description) {
  return { ...plugin(name, description), interfaces: ['output'] };
}

/** The handshake of an exporter. @param {string} name @param {string} description @returns {PluginInfo} */
export function exporter(name, description) {
  return { ...plugin(name, description), interfaces: ['exporter'] };
}

/**
 * The WIT value of a JavaScript one. A whole number is an `int` (a `uint` past 2^63), any
 * other number a `float`; a bigint beyond 64 bits, or a list mixing text and numbers, throws.
 * @param {Cell} v @returns {Value}
 */
export function value(v) {
  if (v === null || v === undefined) return { tag: 'none' };
  if (typeof v === 'boolean') return { tag: 'boolean', val: v };
  if (typeof v === 'number') {
    return Number.isSafeInteger(v) ? { tag: 'int', val: int64(v) } : { tag: 'float', val: v };
  }
  if (typeof v === 'bigint') {
    if (v >= S64_MIN && v <= S64_MAX) return { tag: 'int', val: int64(v) };
    if (v >= 0n && v <= U64_MAX) return { tag: 'uint', val: int64(v) };
    throw new RangeError(`${v} does not fit in 64 bits`);
  }
  if (typeof v === 'string') return { tag: 'text', val: v };
  if (Array.isArray(v)) {
    if (v.every((i) => typeof i === 'string')) return { tag: 'text-list', val: v };
    if (v.every((i) => Number.isSafeInteger(i))) {
      return { tag: 'int-list', val: bigInts ? BigInt64Array.from(v, BigInt) : [...v] };
    }
    if (v.every((i) => typeof i === 'number')) {
      return { tag: 'float-list', val: bigInts ? Float64Array.from(v) : [...v] };
    }
    throw new TypeError(`a list cell must be all text or all numbers: ${JSON.stringify(v)}`);
  }
  throw new TypeError(`${String(v)} (${typeof v}) cannot be a cell: use null, a boolean, a number, a string or a list of them`);
}

/**
 * The JavaScript value of a WIT one (null for none; a 64-bit integer as a number when it is
 * exact, else a bigint).
 * @param {Value} v @returns {any}
 */
export function cell(v) {
  switch (v.tag) {
    case 'none': return null;
    case 'int': case 'uint': return toNumber(v.val);
    case 'int-list': return Array.from(v.val, toNumber);
    case 'float-list': return Array.from(v.val);
    default: return v.val;
  }
}

/** @param {bigint|number} n */
function toNumber(n) {
  if (typeof n === 'number') return n;
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/**
 * A table of `rows`, each an object of column to cell. The first row fixes the columns and
 * their order; every later row must have the same. `key`: the column naming each row of a list
 * plugin (`pid`, `interface_name`).
 * @param {Row[]} rows @param {string} [key] @returns {Table}
 */
export function table(rows, key) {
  const columns = rows.length ? Object.keys(rows[0]) : [];
  const out = rows.map((row, i) => {
    const names = Object.keys(row);
    if (names.length !== columns.length || names.some((c, j) => c !== columns[j])) {
      throw new Error(`row ${i} has other columns than row 0 (${names} against ${columns}): every row of a table has the same columns`);
    }
    return columns.map((c) => value(row[c]));
  });
  if (key !== undefined && out.length && !columns.includes(key)) {
    throw new Error(`key column ${key} is not one of the columns ${columns}`);
  }
  return { key, columns, rows: out };
}

/** A one-row table (the `record` and `scalar` layouts). @param {Row} row @returns {Table} */
export function record(row) {
  return table([row]);
}

/** A table's rows as objects of JavaScript values. @param {Table} t @returns {Record<string, any>[]} */
export function rows(t) {
  return t.rows.map((r) => Object.fromEntries(t.columns.map((c, i) => [c, cell(r[i])])));
}

/**
 * Counter rates Glances 4's way, kept by the plugin between ticks. For a counter `f`, `push`
 * sets `f` (the delta since the previous update), `f_gauge` (the raw counter) and
 * `f_rate_per_sec`, after `time_since_update`. On an item's first tick the delta and the rate
 * are null; a counter that went backwards (a reset) gives null too.
 */
export class Rates {
  /** @type {Map<string, { seq: bigint, nanos: bigint, counters: Record<string, number|bigint> }>} */
  #previous = new Map();
  #lastSeq = 0n;

  /**
   * @param {Row} row @param {string} item @param {Tick} tick
   * @param {Record<string, number|bigint>} counters
   */
  push(row, item, tick, counters) {
    learn(tick);
    if (BigInt(tick.seq) !== this.#lastSeq) {
      // Forget items missing since the previous tick (an exited process): the map stays bounded.
      for (const [k, p] of this.#previous) if (p.seq < this.#lastSeq) this.#previous.delete(k);
      this.#lastSeq = BigInt(tick.seq);
    }
    const previous = this.#previous.get(item);
    const elapsed = previous ? Number(BigInt(tick.monotonicNanos) - previous.nanos) / 1e9 : null;
    row.time_since_update = elapsed ?? 0;
    for (const [name, raw] of Object.entries(counters)) {
      const old = previous?.counters[name];
      const delta = old !== undefined && raw >= old ? Number(BigInt(raw) - BigInt(old)) : null;
      row[name] = delta;
      row[`${name}_gauge`] = raw;
      row[`${name}_rate_per_sec`] = delta !== null && elapsed ? delta / elapsed : null;
    }
    this.#previous.set(item, { seq: BigInt(tick.seq), nanos: BigInt(tick.monotonicNanos), counters: { ...counters } });
  }
}

/**
 * The plugin's config section (`[plugins.NAME]`, over its manifest's `[config]`).
 * @returns {Record<string, boolean|number|bigint|string|string[]>}
 */
export function config() {
  return Object.fromEntries(entries().map(([k, v]) => [k, v.tag === 'int' ? toNumber(v.val) : v.val]));
}

/**
 * Logs into glint's log, tagged with the plugin's name.
 * @param {'trace'|'debug'|'info'|'warn'|'error'} level @param {string} message
 */
export function log(level, message) {
  hostLog(level, message);
}

/** Rounded to one decimal, as Glances shows percentages. @param {number} v */
export function round1(v) {
  return Math.sign(v) * Math.round(Math.abs(v) * 10) / 10;
}

/** `part` as a percentage of `whole`, to one decimal; 0 when `whole` is 0. @param {number} part @param {number} whole */
export function percent(part, whole) {
  return whole > 0 ? round1((part * 100) / whole) : 0;
}

/**
 * Wraps an export (`update`, `render`, `export`) so that an exception it does not handle
 * reaches glint's log with its message. What it throws on purpose goes through as the call's
 * error: a string (an input or output plugin's failed call), or an exporter's `retryable(...)`
 * or `permanent(...)`. Anything else (an Error) is a bug, as a Rust panic or a Python
 * exception is: the call traps, glint restarts the plugin and quarantines it after five
 * failures in ten minutes. componentize-js would trap on it too, but saying only that it
 * expected a string: `guard` writes the exception's name, message and stack to stderr first,
 * which glint shows as the plugin's last error.
 * @template {(...args: any[]) => any} F @param {F} fn @returns {F}
 */
export function guard(fn) {
  return /** @type {F} */ ((...args) => {
    learn(args[0]);
    learn(args[1]);
    try {
      return fn(...args);
    } catch (e) {
      const meant = typeof e === 'string'
        || (e && typeof e === 'object' && (e.tag === 'retryable' || e.tag === 'permanent'));
      if (!meant) console.error(e instanceof Error ? `${e.name}: ${e.message}\n${e.stack}` : String(e));
      throw e;
    }
  });
}

/**
 * What an exporter throws to fail an export: glint keeps the batches and retries them.
 * @param {string} message
 */
export function retryable(message) {
  return { tag: 'retryable', val: message };
}

/**
 * What an exporter throws to fail an export for good: glint logs why and drops the batches.
 * @param {string} message
 */
export function permanent(message) {
  return { tag: 'permanent', val: message };
}

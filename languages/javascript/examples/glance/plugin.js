// glance: the machine at a glance, as one line of text or a small HTML page (a glint output
// plugin in JavaScript). GET /api/3/outputs/glance gives text; /api/3/outputs/glance/html HTML.

import { latest, decorations } from 'glint:plugin/stats@0.1.0';
import { guard, output, rows } from './glint.js';

/** The first row of a plugin's latest table, as an object, or null. */
function first(plugin) {
  const t = latest(plugin);
  return t && t.rows.length ? rows(t)[0] : null;
}

/** The worst decoration of a record plugin's row ('critical' beats 'warning' ...). */
function worst(plugin) {
  const order = ['default', 'ok', 'careful', 'warning', 'critical'];
  const d = decorations(plugin);
  if (!d || !d.length) return 'default';
  return d[0].reduce((a, b) => (order.indexOf(b) > order.indexOf(a) ? b : a), 'default');
}

function fixed(v, digits = 1) {
  return typeof v === 'number' ? v.toFixed(digits) : '-';
}

/** The figures the page shows: name, value, and the decoration that colours it. */
function figures() {
  const cpu = first('cpu');
  const mem = first('mem');
  const load = first('load');
  const system = first('system');
  return {
    host: system ? system.hostname : '-',
    items: [
      ['cpu', `${fixed(cpu?.total)}%`, worst('cpu')],
      ['mem', `${fixed(mem?.percent)}%`, worst('mem')],
      ['load', `${fixed(load?.min1, 2)} ${fixed(load?.min5, 2)} ${fixed(load?.min15, 2)}`, worst('load')],
    ],
  };
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const encoder = new TextEncoder();

export function describe() {
  return output('glance', 'The machine at a glance: text, or HTML at /html');
}

export const render = guard((request) => {
  const { host, items } = figures();
  if (request.path === 'html') {
    const cells = items
      .map(([name, v, d]) => `<tr class="${d}"><th>${name}</th><td>${escape(v)}</td></tr>`)
      .join('');
    const page = `<!doctype html><html><head><meta charset="utf-8"><title>${escape(host)}</title>`
      + '<style>.warning{color:#b60}.critical{color:#c00}.careful{color:#06c}</style></head>'
      + `<body><h1>${escape(host)}</h1><table>${cells}</table></body></html>`;
    return { status: 200, contentType: 'text/html; charset=utf-8', body: encoder.encode(page) };
  }
  if (request.path !== '') {
    const body = encoder.encode(`no page ${request.path}: try /api/3/outputs/glance or /api/3/outputs/glance/html\n`);
    return { status: 404, contentType: 'text/plain; charset=utf-8', body };
  }
  const line = `${host} ${items.map(([name, v]) => `${name} ${v}`).join(' · ')}\n`;
  return { status: 200, contentType: 'text/plain; charset=utf-8', body: encoder.encode(line) };
});

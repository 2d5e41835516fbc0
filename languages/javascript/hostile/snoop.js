// js-snoop: a hostile test guest. Each tick it tries to read /etc/passwd, to read the
// environment and to reach an address it was not granted (setting `target`); it reports what
// happened. glint's sandbox must refuse all three, as it does its Rust twins'.

import { getDirectories } from 'wasi:filesystem/preopens@0.2.12';
import { getEnvironment } from 'wasi:cli/environment@0.2.12';
import { config, field, plugin, record } from './glint.js';
import { Request } from './glint-http.js';

/** [escaped, what happened] */
function attempt(f) {
  try {
    return [true, `escaped: ${f()}`];
  } catch (e) {
    return [false, `refused: ${e && e.message ? e.message : JSON.stringify(e)}`];
  }
}

function passwd() {
  const dirs = getDirectories();
  if (!dirs.length) throw new Error('no directory is open to it');
  for (const [dir] of dirs) {
    for (const path of ['/etc/passwd', '../../../../etc/passwd', 'etc/passwd']) {
      try {
        dir.openAt({}, path, {}, { read: true });
        return `opened ${path}`;
      } catch {
        // Refused: the next.
      }
    }
  }
  throw new Error('every path was refused');
}

function environ() {
  const vars = getEnvironment();
  if (!vars.length) throw new Error('the environment is empty');
  return vars.map(([k]) => k).join(',');
}

export function describe() {
  return plugin('js-snoop', 'Test guest: tries to escape the sandbox', {
    fields: [
      field('escaped', 'none', 'True if any attempt succeeded'),
      field('passwd', 'text', 'Reading /etc/passwd'),
      field('environ', 'text', 'Reading the environment'),
      field('connect', 'text', 'An HTTP request to a destination not granted'),
    ],
  });
}

export function update() {
  const target = String(config().target ?? '127.0.0.1:9');
  const results = {
    passwd: attempt(passwd),
    environ: attempt(environ),
    connect: attempt(() => Request.get(`http://${target}/`).send().status),
  };
  const row = { escaped: Object.values(results).some(([escaped]) => escaped) };
  for (const [name, [, text]] of Object.entries(results)) row[name] = text;
  return record(row);
}

//! A JavaScript plugin's project: `plugin.js`, glint.js (and glint-http.js for exporters)
//! vendored, and a package.json whose `build` runs componentize-js.

use std::path::PathBuf;

use crate::bindings::PluginKind;

/// The helper library, as this glint was built with it.
const GLINT_JS: &str = include_str!("../../../../languages/javascript/glint.js");
/// Exporters' HTTP through wasi:http.
const GLINT_HTTP_JS: &str = include_str!("../../../../languages/javascript/glint-http.js");
/// The npm release the template builds with (and glint's tests): componentize-js builds the
/// component on SpiderMonkey. (jco 1.35's `jco types` cannot read a WIT folder here, "os
/// error 44", as its preview2-shim 0.26 cannot: glint.js's types are JSDoc.)
pub const COMPONENTIZE_JS: &str = "0.23.0";
/// componentize-js imports it without depending on it: named, so npm puts it where node looks.
pub const PREVIEW2_SHIM: &str = "0.25.0";

pub(super) fn files(name: &str, kind: PluginKind) -> impl Iterator<Item = (PathBuf, String)> {
    let mut files = vec![
        (PathBuf::from("plugin.js"), plugin_js(name, kind)),
        (PathBuf::from("glint.js"), GLINT_JS.to_string()),
        (PathBuf::from("package.json"), package_json(name, kind)),
        (PathBuf::from("README.md"), readme(name)),
    ];
    if kind == PluginKind::Exporter {
        files.push((PathBuf::from("glint-http.js"), GLINT_HTTP_JS.to_string()));
    }
    files.into_iter()
}

fn package_json(name: &str, kind: PluginKind) -> String {
    let world = crate::tools::wit::world_for_bindings(kind);
    format!(
        r#"{{
  "name": "{name}",
  "version": "0.1.0",
  "private": true,
  "type": "module",
  "description": "A glint {kind} plugin",
  "scripts": {{
    "build": "componentize-js plugin.js --wit wit --world-name {world} --out {name}.wasm"
  }},
  "devDependencies": {{
    "@bytecodealliance/componentize-js": "{COMPONENTIZE_JS}",
    "@bytecodealliance/preview2-shim": "{PREVIEW2_SHIM}"
  }}
}}
"#,
        kind = crate::bindings::kind_name(kind)
    )
}

fn plugin_js(name: &str, kind: PluginKind) -> String {
    match kind {
        PluginKind::Input => format!(
            r#"// {name}: a glint input plugin. Each tick, `update` turns readings of the machine into one
// table of stats; glint serves it at /api/3/{name}.

import {{ getCpuInfo, getCpuStats, getLoad }} from 'glint:plugin/readings@0.1.0';
import {{ Rates, config, field, guard, plugin, record, round1 }} from './glint.js';

// Kept between ticks: the previous counters, for rates.
const rates = new Rates();

export function describe() {{
  // Every column update() returns, declared: glint refuses a table with any other. A rate
  // (`ctx_switches`) stands for its three columns: the delta, `_gauge` and `_rate_per_sec`.
  return plugin('{name}', 'A glint input plugin', {{
    fields: [
      field('greeting', 'text', "From the plugin's config"),
      field('load_per_core', 'number', '1-minute load per logical CPU', {{ history: true }}),
      field('ctx_switches', 'number', 'Context switches', {{ rate: true }}),
      field('time_since_update', 'seconds', 'Seconds since the previous update'),
    ],
  }});
}}

// guard(): an exception it does not handle is logged with its message (see glint.js); throw
// a string to fail a call on purpose.
export const update = guard((tick) => {{
  const cores = Math.max(1, getCpuInfo().logicalCores);
  const row = {{
    greeting: String(config().greeting ?? 'hello'),
    load_per_core: round1(getLoad().min1 / cores),
  }};
  rates.push(row, 'all', tick, {{ ctx_switches: getCpuStats().ctxSwitches }});
  return record(row);
}});
"#
        ),
        PluginKind::Output => format!(
            r#"// {name}: a glint output plugin. glint serves what `render` answers at
// /api/3/outputs/{name}[/<path>], with the content type it gives.

import {{ latest, plugins }} from 'glint:plugin/stats@0.1.0';
import {{ guard, output }} from './glint.js';

export function describe() {{
  return output('{name}', 'A glint output plugin');
}}

// guard(): an exception it does not handle is logged with its message (see glint.js); throw
// a string to fail a call on purpose.
export const render = guard((request) => {{
  // One line per plugin with stats: its name and how many rows it has.
  const lines = [`path: /${{request.path}}`];
  for (const plugin of plugins()) {{
    lines.push(`${{plugin}} ${{latest(plugin)?.rows.length ?? 0}}`);
  }}
  const body = new TextEncoder().encode(lines.join('\n') + '\n');
  return {{ status: 200, contentType: 'text/plain; charset=utf-8', body }};
}});
"#
        ),
        PluginKind::Exporter => format!(
            r#"// {name}: a glint exporter. glint hands `export` the batches of stats to send, oldest first
// (several when it replays what it kept while the target was down). It sends them as JSON to
// the `url` of its settings, through wasi:http: glint lets it reach only the destinations the
// operator granted. What it throws says whether glint should retry the batches or drop them.

import {{ config, exporter, guard, permanent, rows }} from './glint.js';
import {{ Request }} from './glint-http.js';

export function describe() {{
  return exporter('{name}', 'A glint exporter');
}}

// guard(): an exception it does not handle is logged with its message (see glint.js).
const export_ = guard((schema, batches) => {{
  const {{ url }} = config();
  if (typeof url !== 'string' || !url) {{
    throw permanent('`url` is not set: add url = "http://HOST:PORT/PATH" to [plugins.{name}]');
  }}
  const documents = batches.map((b) => ({{
    seq: Number(b.seq),
    time: Number(b.unixNanos) / 1e9,
    host: b.hostname,
    stats: Object.fromEntries(b.tables.map(([plugin, table]) => [plugin, rows(table)])),
  }}));
  const body = JSON.stringify(documents, (_, v) => (typeof v === 'bigint' ? Number(v) : v));
  Request.post(url, 'application/json', body).deliver('the target');
}});

// `export` is a keyword: the world's `export` function is this module's `export_`.
export {{ export_ as export }};
"#
        ),
    }
}

fn readme(name: &str) -> String {
    format!(
        r#"# {name}

A glint plugin in JavaScript. Build it to a WebAssembly component with componentize-js (Node.js
18 or later), check it, and drop it in glint's plugins directory with its manifest; glint
loads it without a restart:

```sh
npm install && npm run build
glint plugin check {name}.wasm --manifest {name}.toml
mkdir -p ~/.config/glint/plugins && cp {name}.wasm {name}.toml ~/.config/glint/plugins/
```

An exporter runs only when named: `glint --export {name}`; its settings go in
`[plugins.{name}]` of glint.toml, the destinations it may reach in `[plugins.{name}.grant]`.

- `plugin.js` is the plugin; `glint.js` (and `glint-http.js` for exporters) the helpers of
  the glint that made this project, typed with JSDoc (an editor with TypeScript's checker
  reads them). The records of the readings are in `wit/readings.wit`, their fields in
  camelCase (`logicalCores`).
- `wit/` is that glint's contract; the readings a plugin may ask for are in
  `wit/readings.wit`. `glint plugin wit wit` brings it up to date with a newer glint.
- 64-bit integers of the contract are `bigint`s; glint.js's `value` and `cell` convert.
- To fail a call on purpose, `update` and `render` throw a string; an exporter throws
  `retryable(...)` (glint keeps the batches) or `permanent(...)` (glint drops them). Anything
  else thrown is a bug: the call traps, glint restarts the plugin, and quarantines it after
  five failures in ten minutes. glint.js's `guard`, which wraps the exports, writes such an
  exception's message and stack to stderr first, which glint shows as the last error.
"#
    )
}

//! A Python plugin's project: `app.py`, glint_sdk.py (and glint_http.py for exporters)
//! vendored, built with componentize-py.

use std::path::PathBuf;

use crate::bindings::PluginKind;

/// The helper library, as this glint was built with it.
const GLINT_SDK: &str = include_str!("../../../../languages/python/glint_sdk.py");
/// Exporters' HTTP through wasi:http.
const GLINT_HTTP: &str = include_str!("../../../../languages/python/glint_http.py");
/// The componentize-py release the templates and glint's tests are built with.
pub const COMPONENTIZE_PY: &str = "0.25.1";

pub(super) fn build_command(name: &str, kind: PluginKind) -> String {
    format!(
        "componentize-py -d wit -w {} componentize app -o {name}.wasm",
        crate::tools::wit::world_for_bindings(kind)
    )
}

pub(super) fn files(name: &str, kind: PluginKind) -> impl Iterator<Item = (PathBuf, String)> {
    let mut files = vec![
        (PathBuf::from("app.py"), app_py(name, kind)),
        (PathBuf::from("glint_sdk.py"), GLINT_SDK.to_string()),
        (PathBuf::from("README.md"), readme(name, kind)),
    ];
    if kind == PluginKind::Exporter {
        files.push((PathBuf::from("glint_http.py"), GLINT_HTTP.to_string()));
    }
    files.into_iter()
}

fn app_py(name: &str, kind: PluginKind) -> String {
    match kind {
        PluginKind::Input => format!(
            r#""""{name}: a glint input plugin. Each tick, `update` turns readings of the machine into one
table of stats; glint serves it at /api/3/{name}."""

import wit_world
from wit_world.imports import readings

from glint_sdk import Layout, Rates, Unit, config, field, plugin, record, round1

# Kept between ticks: the previous counters, for rates.
_rates = Rates()


class WitWorld(wit_world.WitWorld):
    def describe(self):
        # Every column update() returns, declared: glint refuses a table with any other. A rate
        # (`ctx_switches`) stands for its three columns: the delta, `_gauge` and `_rate_per_sec`.
        return plugin(
            "{name}",
            "A glint input plugin",
            Layout.RECORD,
            fields=[
                field("greeting", Unit.TEXT, "From the plugin's config"),
                field("load_per_core", Unit.NUMBER, "1-minute load per logical CPU", history=True),
                field("ctx_switches", Unit.NUMBER, "Context switches", rate=True),
                field("time_since_update", Unit.SECONDS, "Seconds since the previous update"),
            ],
        )

    def update(self, tick):
        load = readings.get_load()
        cores = max(1, readings.get_cpu_info().logical_cores)
        row = {{
            "greeting": str(config().get("greeting", "hello")),
            "load_per_core": round1(load.min1 / cores),
        }}
        _rates.push(row, "all", tick, {{"ctx_switches": readings.get_cpu_stats().ctx_switches}})
        return record(row)
"#
        ),
        PluginKind::Output => format!(
            r#""""{name}: a glint output plugin. glint serves what `render` answers at
/api/3/outputs/{name}[/<path>], with the content type it gives."""

import wit_world
from wit_world.imports import stats, types

from glint_sdk import output


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return output("{name}", "A glint output plugin")

    def render(self, request):
        # One line per plugin with stats: its name and how many rows it has.
        lines = [f"path: /{{request.path}}"]
        for plugin in stats.plugins():
            table = stats.latest(plugin)
            lines.append(f"{{plugin}} {{len(table.rows) if table else 0}}")
        body = ("\n".join(lines) + "\n").encode()
        return types.Response(200, "text/plain; charset=utf-8", body)
"#
        ),
        PluginKind::Exporter => format!(
            r#""""{name}: a glint exporter. glint hands `export` the batches of stats to send, oldest first
(several when it replays what it kept while the target was down). It sends them as JSON to the
`url` of its settings, through wasi:http: glint lets it reach only the destinations the
operator granted. An error says whether glint should retry the batches or drop them."""

import json

import wit_world
from componentize_py_types import Err
from wit_world.imports import glint_plugin_types as types

from glint_http import Request
from glint_sdk import config, exporter, rows


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return exporter("{name}", "A glint exporter")

    def export(self, schema, batches):
        url = config().get("url")
        if not isinstance(url, str) or not url:
            raise Err(types.ExportError_Permanent(
                "`url` is not set: add url = \"http://HOST:PORT/PATH\" to [plugins.{name}]"))
        documents = [
            {{
                "seq": b.seq,
                "time": b.unix_nanos / 1e9,
                "host": b.hostname,
                "stats": {{plugin: rows(table) for plugin, table in b.tables}},
            }}
            for b in batches
        ]
        body = json.dumps(documents).encode()
        Request.post(url, "application/json", body).deliver("the target")
"#
        ),
    }
}

fn readme(name: &str, kind: PluginKind) -> String {
    let build = build_command(name, kind);
    format!(
        r#"# {name}

A glint plugin in Python. Build it to a WebAssembly component with componentize-py, check it,
and drop it in glint's plugins directory with its manifest; glint loads it without a restart:

```sh
pip install componentize-py=={COMPONENTIZE_PY}
{build}
glint plugin check {name}.wasm --manifest {name}.toml
mkdir -p ~/.config/glint/plugins && cp {name}.wasm {name}.toml ~/.config/glint/plugins/
```

An exporter runs only when named: `glint --export {name}`; its settings go in
`[plugins.{name}]` of glint.toml, the destinations it may reach in `[plugins.{name}.grant]`.

- `app.py` is the plugin; `glint_sdk.py` (and `glint_http.py` for exporters) the helpers of
  the glint that made this project. Editors see the types after
  `componentize-py -d wit -w {world} bindings .`, which writes the `wit_world` package.
- `wit/` is that glint's contract; the readings a plugin may ask for are in
  `wit/readings.wit`. `glint plugin wit wit` brings it up to date with a newer glint.
- An exception that escapes `update`, `render` or `export` stops the call: glint logs it and
  restarts the plugin. Raise `componentize_py_types.Err(...)` to fail a call the normal way.
"#,
        world = crate::tools::wit::world_for_bindings(kind)
    )
}

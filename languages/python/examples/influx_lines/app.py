"""influx_lines: ships stats to InfluxDB 1.x (or VictoriaMetrics) as line protocol over
wasi:http (a glint exporter in Python, built for the `exporter-http` world).

Settings (`[plugins.influx_lines]`): `url` (required, e.g. `http://127.0.0.1:8086`; glint
grants the plugin exactly that destination) and `db` (default `glint`). One measurement per
plugin, tagged with the host and, for list plugins, the row's key; numeric and boolean
columns are fields.
"""

from typing import List
from urllib.parse import quote

import wit_world
from componentize_py_types import Err
from wit_world.imports import glint_plugin_types as types

from glint_http import Request
from glint_sdk import config, exporter, rows


def _escape(text: str, specials: str) -> str:
    for c in "\\" + specials:
        text = text.replace(c, "\\" + c)
    return text


def _tag(text: str) -> str:
    return _escape(text, ",= ")


def _lines(batch: types.Batch) -> List[str]:
    lines = []
    for plugin, table in batch.tables:
        for row in rows(table):
            fields = []
            for column, v in row.items():
                if isinstance(v, bool):
                    fields.append(f"{_tag(column)}={'true' if v else 'false'}")
                elif isinstance(v, int):
                    fields.append(f"{_tag(column)}={v}i")
                elif isinstance(v, float) and v == v and abs(v) != float("inf"):
                    fields.append(f"{_tag(column)}={v!r}")
            if not fields:
                continue
            tags = f",host={_tag(batch.hostname)}"
            if table.key is not None and row.get(table.key) is not None:
                tags += f",{_tag(table.key)}={_tag(str(row[table.key]))}"
            lines.append(f"{_escape(plugin, ', ')}{tags} {','.join(fields)} {batch.unix_nanos}")
    return lines


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return exporter("influx_lines", "Stats to InfluxDB as line protocol (Python)")

    def export(self, schema, batches):
        settings = config()
        url = settings.get("url")
        if not isinstance(url, str) or not url:
            raise Err(types.ExportError_Permanent(
                "`url` is not set: add url = \"http://HOST:8086\" to [plugins.influx_lines]"))
        db = settings.get("db", "glint")
        body = "\n".join(line for b in batches for line in _lines(b)).encode()
        if not body:
            return
        target = f"{url.rstrip('/')}/write?db={quote(str(db))}&precision=ns"
        Request.post(target, "text/plain; charset=utf-8", body).deliver("InfluxDB")

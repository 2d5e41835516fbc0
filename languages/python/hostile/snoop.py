"""py-snoop: a hostile test guest. Each tick it tries to read /etc/passwd, to read the
environment and to reach an address it was not granted (setting `target`); it reports what
happened. glint's sandbox must refuse all three, as it does its Rust twins'."""

import os

import wit_world

from glint_http import HttpError, Request
from glint_sdk import Layout, Unit, config, field, plugin, record


def _try(attempt):
    """(escaped, what happened)."""
    try:
        return True, f"escaped: {attempt()}"
    except (OSError, HttpError, LookupError) as e:
        return False, f"refused: {e}"


def _environment():
    if not os.environ:
        raise LookupError("the environment is empty")
    return dict(os.environ)


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return plugin("py-snoop", "Test guest: tries to escape the sandbox", Layout.RECORD, fields=[
            field("escaped", Unit.NONE, "True if any attempt succeeded"),
            field("passwd", Unit.TEXT, "Reading /etc/passwd"),
            field("environ", Unit.TEXT, "Reading the environment"),
            field("connect", Unit.TEXT, "An HTTP request to a destination not granted"),
        ])

    def update(self, tick):
        target = str(config().get("target", "127.0.0.1:9"))
        results = {
            "passwd": _try(lambda: len(open("/etc/passwd").read())),
            "environ": _try(_environment),
            "connect": _try(lambda: Request.get(f"http://{target}/").send().status),
        }
        row = {"escaped": any(escaped for escaped, _ in results.values())}
        row.update({name: text for name, (_, text) in results.items()})
        return record(row)

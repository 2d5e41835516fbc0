"""py-membomb: a hostile test guest that allocates without end: stopped at its memory cap."""

import wit_world

from glint_sdk import field, plugin, Unit

_hoard = []


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return plugin("py-membomb", "Test guest: unbounded allocation", fields=[field("n", Unit.NUMBER, "never")])

    def update(self, tick):
        while True:
            _hoard.append(bytearray(b"x" * (4 << 20)))

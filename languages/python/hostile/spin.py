"""py-spin: a hostile test guest that loops for ever in `update`: stopped at its deadline."""

import wit_world

from glint_sdk import field, plugin, record, Unit


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return plugin("py-spin", "Test guest: an endless loop", fields=[field("n", Unit.NUMBER, "never")])

    def update(self, tick):
        n = 0
        while True:
            n += 1

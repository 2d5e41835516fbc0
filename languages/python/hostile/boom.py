"""py-raise: a hostile test guest whose `update` raises an exception it does not handle."""

import wit_world

from glint_sdk import field, plugin, Unit


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return plugin("py-raise", "Test guest: raises", fields=[field("n", Unit.NUMBER, "never")])

    def update(self, tick):
        raise RuntimeError("deliberate exception from py-raise")

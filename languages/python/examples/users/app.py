"""users: CPU and memory per user, summed over their processes (a glint input plugin in Python).

Which user runs a process is a reading glint gives a plugin only when granted `process_users`:
without it every process shows under the same blank name.
"""

from typing import Dict, Tuple

import wit_world
from wit_world.imports import readings

from glint_sdk import Layout, Unit, config, field, percent, plugin, round1, table

# CPU seconds of each process at the previous update, by (pid, start time): a reused pid is
# another process and starts afresh.
_previous: Dict[Tuple[int, float], float] = {}
_previous_nanos = 0


class WitWorld(wit_world.WitWorld):
    def describe(self):
        return plugin(
            "users",
            "CPU and memory per user, summed over their processes",
            Layout.LIST,
            fields=[
                field("username", Unit.TEXT, "The user"),
                field("processes", Unit.NUMBER, "Processes the user runs"),
                field("cpu_percent", Unit.PERCENT, "CPU of all their processes (of one core)",
                      history=True),
                field("memory_rss", Unit.BYTES, "Resident memory of all their processes"),
                field("memory_percent", Unit.PERCENT, "Their resident memory, of the total"),
            ],
        )

    def update(self, tick):
        global _previous, _previous_nanos
        elapsed = (tick.monotonic_nanos - _previous_nanos) / 1e9 if _previous_nanos else 0.0
        total_memory = readings.get_memory().total
        users: Dict[str, dict] = {}
        seen: Dict[Tuple[int, float], float] = {}
        for p in readings.get_processes():
            cpu = p.cpu_user + p.cpu_system
            ident = (p.pid, p.create_time)
            seen[ident] = cpu
            u = users.setdefault(p.username, {"processes": 0, "cpu": 0.0, "rss": 0})
            u["processes"] += 1
            u["rss"] += p.memory_rss
            before = _previous.get(ident)
            if before is not None and elapsed > 0:
                u["cpu"] += max(0.0, cpu - before) * 100 / elapsed
        _previous, _previous_nanos = seen, tick.monotonic_nanos
        top = config().get("top", 0)
        ranked = sorted(users.items(), key=lambda kv: (-kv[1]["cpu"], -kv[1]["rss"], kv[0]))
        if isinstance(top, int) and top > 0:
            ranked = ranked[:top]
        return table(
            [
                {
                    "username": name,
                    "processes": u["processes"],
                    "cpu_percent": round1(u["cpu"]),
                    "memory_rss": u["rss"],
                    "memory_percent": percent(u["rss"], total_memory),
                }
                for name, u in ranked
            ],
            key="username",
        )

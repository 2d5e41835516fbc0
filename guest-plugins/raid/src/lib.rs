//! raid: software RAID (md) arrays with their level, state and member devices, from
//! /proc/mdstat (Glances' `raid` plugin).

use glint_sdk::prelude::*;

#[derive(Default)]
struct Raid;

impl InputPlugin for Raid {
    fn info() -> PluginInfo {
        plugin("raid", "Software RAID arrays", Layout::List)
            .field(field("name", Unit::Text, "Array name (md0)."))
            .field(field(
                "status",
                Unit::Text,
                "Array state: active or inactive.",
            ))
            .field(field("type", Unit::Text, "RAID level (raid1, raid5...)."))
            .field(field("components", Unit::Text, "Member devices."))
            .field(field("used", Unit::Number, "Member devices in use."))
            .field(field(
                "available",
                Unit::Number,
                "Member devices the array expects.",
            ))
            .field(field(
                "config",
                Unit::Text,
                "Member states as /proc/mdstat shows them (U up, _ down: UU, U_).",
            ))
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        let mut rows = Rows::new(Some("name"));
        for array in readings::get_raid() {
            rows.push(
                Row::new()
                    .set("name", array.name)
                    .set("status", array.status)
                    .set("type", array.level)
                    .set("components", array.components)
                    .set("used", array.used)
                    .set("available", array.available)
                    .set("config", array.config),
            );
        }
        Ok(rows.into_table())
    }
}

glint_sdk::export_input!(Raid);

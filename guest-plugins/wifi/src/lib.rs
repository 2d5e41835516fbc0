//! wifi: link quality, signal level and noise of each wireless interface, from
//! /proc/net/wireless (Glances' `wifi` plugin).

use glint_sdk::prelude::*;

#[derive(Default)]
struct Wifi;

impl InputPlugin for Wifi {
    fn info() -> PluginInfo {
        plugin("wifi", "Wireless link quality per interface", Layout::List)
            .field(field(
                "ssid",
                Unit::Text,
                "Wireless interface name (wlan0): /proc/net/wireless knows no SSID, so glint \
                 names the row after the interface.",
            ))
            .field(field(
                "quality_link",
                Unit::Number,
                "Link quality, as the driver reports it.",
            ))
            .field(field("quality_level", Unit::Number, "Signal level, dBm."))
            .field(field("noise", Unit::Number, "Noise level, dBm."))
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        let mut rows = Rows::new(Some("ssid"));
        for wifi in readings::get_wifi() {
            rows.push(
                Row::new()
                    .set("ssid", wifi.name)
                    .set("quality_link", wifi.quality_link)
                    .set("quality_level", wifi.quality_level)
                    .set("noise", wifi.noise),
            );
        }
        Ok(rows.into_table())
    }
}

glint_sdk::export_input!(Wifi);

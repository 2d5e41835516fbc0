//! sensors: temperatures, fan speeds and battery levels the hardware reports, one row per
//! sensor under a label unique in the table (Glances' `sensors` plugin).

use glint_sdk::prelude::*;
use glint_sdk::readings::SensorKind;

#[derive(Default)]
struct Sensors;

impl InputPlugin for Sensors {
    fn info() -> PluginInfo {
        plugin(
            "sensors",
            "Temperatures, fan speeds and battery levels",
            Layout::List,
        )
        .field(field(
            "label",
            Unit::Text,
            "Sensor label, prefixed with its chip when two sensors share a label.",
        ))
        .field(field(
            "unit",
            Unit::Text,
            "Unit of value: C (degrees Celsius), R (fan RPM) or % (battery).",
        ))
        .field(field(
            "value",
            Unit::Number,
            "Current reading, in the row's unit.",
        ))
        .field(field(
            "warning",
            Unit::Number,
            "Warning threshold the hardware reports (none when it gives none).",
        ))
        .field(field(
            "critical",
            Unit::Number,
            "Critical threshold the hardware reports (none when it gives none).",
        ))
        .field(field(
            "type",
            Unit::Text,
            "Sensor type: temperature_core, fan_speed or battery.",
        ))
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        let sensors = readings::get_sensors();
        let labels = unique_labels(sensors.iter().map(|s| (s.chip.as_str(), s.label.as_str())));
        let mut rows = Rows::new(Some("label"));
        for (sensor, label) in sensors.into_iter().zip(labels) {
            let (unit, kind) = kind_names(sensor.kind);
            rows.push(
                Row::new()
                    .set("label", label)
                    .set("unit", unit)
                    .set("value", sensor.value)
                    .set("warning", sensor.warning)
                    .set("critical", sensor.critical)
                    .set("type", kind),
            );
        }
        Ok(rows.into_table())
    }
}

/// Glances' unit letter and sensor type of a kind.
fn kind_names(kind: SensorKind) -> (&'static str, &'static str) {
    match kind {
        SensorKind::Temperature => ("C", "temperature_core"),
        SensorKind::Fan => ("R", "fan_speed"),
        SensorKind::Battery => ("%", "battery"),
    }
}

/// One label per sensor, unique in the list: a label two sensors share is prefixed with the
/// chip (`coretemp Core 0`); an empty label becomes the chip name; if labels still collide
/// (same chip and label twice) the later ones get ` 2`, ` 3`... so the key stays unique.
fn unique_labels<'a>(sensors: impl Iterator<Item = (&'a str, &'a str)>) -> Vec<String> {
    let pairs: Vec<(&str, &str)> = sensors.collect();
    let base = |chip: &'a str, label: &'a str| if label.is_empty() { chip } else { label };
    let mut labels: Vec<String> = pairs
        .iter()
        .map(|&(chip, label)| {
            let name = base(chip, label);
            let shared = pairs.iter().filter(|&&(c, l)| base(c, l) == name).count() > 1;
            if shared && !label.is_empty() && !chip.is_empty() {
                format!("{chip} {label}")
            } else {
                name.to_string()
            }
        })
        .collect();
    for i in 1..labels.len() {
        let (before, rest) = labels.split_at_mut(i);
        let current = &mut rest[0];
        if before.contains(current) {
            let mut n = 2;
            while before.contains(&format!("{current} {n}")) {
                n += 1;
            }
            *current = format!("{current} {n}");
        }
    }
    labels
}

glint_sdk::export_input!(Sensors);

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Vec<String> {
        unique_labels(pairs.iter().copied())
    }

    #[test]
    fn distinct_labels_are_kept() {
        assert_eq!(
            labels(&[
                ("coretemp", "Core 0"),
                ("coretemp", "Core 1"),
                ("BAT0", "Battery")
            ]),
            ["Core 0", "Core 1", "Battery"]
        );
    }

    #[test]
    fn shared_labels_are_prefixed_with_the_chip() {
        assert_eq!(
            labels(&[
                ("acpitz", "temp1"),
                ("nvme", "temp1"),
                ("coretemp", "Core 0")
            ]),
            ["acpitz temp1", "nvme temp1", "Core 0"]
        );
    }

    #[test]
    fn empty_label_uses_the_chip() {
        assert_eq!(labels(&[("k10temp", "")]), ["k10temp"]);
    }

    #[test]
    fn same_chip_and_label_get_a_number() {
        assert_eq!(
            labels(&[
                ("acpitz", "temp1"),
                ("acpitz", "temp1"),
                ("acpitz", "temp1")
            ]),
            ["acpitz temp1", "acpitz temp1 2", "acpitz temp1 3"]
        );
    }

    #[test]
    fn kinds_map_to_glances_names() {
        assert_eq!(
            kind_names(SensorKind::Temperature),
            ("C", "temperature_core")
        );
        assert_eq!(kind_names(SensorKind::Fan), ("R", "fan_speed"));
        assert_eq!(kind_names(SensorKind::Battery), ("%", "battery"));
    }
}

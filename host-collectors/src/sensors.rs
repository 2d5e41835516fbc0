//! `Sensor`: temperatures and fans from /sys/class/hwmon, battery charge from
//! /sys/class/power_supply.

use std::io;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::CollectError;
use crate::files::{list_dir, read_text, read_trimmed};
use crate::source::Source;

/// WIT `sensor-kind`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum SensorKind {
    #[default]
    Temperature,
    Fan,
    Battery,
}

/// WIT `sensor`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sensor {
    /// Chip or device (`coretemp`, `BAT0`).
    pub chip: String,
    pub label: String,
    pub kind: SensorKind,
    /// °C, RPM or percent, by kind.
    pub value: f64,
    /// Thresholds the hardware reports, if any.
    pub warning: Option<f64>,
    pub critical: Option<f64>,
}

/// hwmon temperatures are in millidegrees Celsius (Documentation/hwmon/sysfs-interface.rst).
const MILLIDEGREES_PER_DEGREE: f64 = 1000.0;

/// Chips in hwmon order, each chip's sensors in index order, then batteries.
pub fn sensors(src: &Source) -> Result<Vec<Sensor>, CollectError> {
    let mut out = Vec::new();
    for (dir_name, dir) in list_dir(&src.sys_path("class/hwmon"))? {
        hwmon_chip(&dir_name, &dir, &mut out)?;
    }
    for (name, dir) in list_dir(&src.sys_path("class/power_supply"))? {
        if read_trimmed(&dir.join("type"))?.as_deref() != Some("Battery") {
            continue;
        }
        if let Some(capacity) = read_value(&dir.join("capacity"))? {
            out.push(Sensor {
                chip: name,
                label: "Battery".to_string(),
                kind: SensorKind::Battery,
                value: capacity,
                warning: None,
                critical: None,
            });
        }
    }
    Ok(out)
}

fn hwmon_chip(dir_name: &str, dir: &Path, out: &mut Vec<Sensor>) -> Result<(), CollectError> {
    let chip = read_trimmed(&dir.join("name"))?.unwrap_or_else(|| dir_name.to_string());
    // Drivers of older kernels put the attributes in the device directory below.
    let mut attrs = dir.to_path_buf();
    if inputs(&attrs, "temp")?.is_empty() && inputs(&attrs, "fan")?.is_empty() {
        attrs = dir.join("device");
    }
    for n in inputs(&attrs, "temp")? {
        let file = |suffix: &str| attrs.join(format!("temp{n}_{suffix}"));
        let Some(value) = read_value(&file("input"))? else {
            continue;
        };
        let degrees = |v: f64| v / MILLIDEGREES_PER_DEGREE;
        out.push(Sensor {
            chip: chip.clone(),
            label: read_trimmed(&file("label"))?.unwrap_or_else(|| format!("temp{n}")),
            kind: SensorKind::Temperature,
            value: degrees(value),
            warning: read_value(&file("max"))?.map(degrees),
            critical: read_value(&file("crit"))?.map(degrees),
        });
    }
    for n in inputs(&attrs, "fan")? {
        let file = |suffix: &str| attrs.join(format!("fan{n}_{suffix}"));
        let Some(rpm) = read_value(&file("input"))? else {
            continue;
        };
        out.push(Sensor {
            chip: chip.clone(),
            label: read_trimmed(&file("label"))?.unwrap_or_else(|| format!("fan{n}")),
            kind: SensorKind::Fan,
            value: rpm,
            warning: None,
            critical: None,
        });
    }
    Ok(())
}

/// Indexes N of the `{kind}N_input` files in `dir`, ascending (`temp2` before `temp10`).
fn inputs(dir: &Path, kind: &str) -> Result<Vec<u32>, CollectError> {
    let mut found: Vec<u32> = list_dir(dir)?
        .iter()
        .filter_map(|(name, _)| {
            name.strip_prefix(kind)?
                .strip_suffix("_input")?
                .parse()
                .ok()
        })
        .collect();
    found.sort_unstable();
    Ok(found)
}

/// A numeric sysfs attribute. `None` when absent, and also when the driver refuses to answer:
/// a faulty or sleeping sensor returns EIO, ENODATA or EAGAIN on read, which hides that sensor
/// only.
fn read_value(path: &Path) -> Result<Option<f64>, CollectError> {
    let text = match read_text(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::InvalidData => {
            return Err(CollectError::parse(path, "not UTF-8 text"));
        }
        Err(_) => return Ok(None),
    };
    let text = text.trim();
    text.parse::<f64>()
        .map(Some)
        .map_err(|_| CollectError::parse(path, format!("expected a number, found {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_sort_numerically_and_ignore_other_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        for f in [
            "temp10_input",
            "temp2_input",
            "temp2_label",
            "tempX_input",
            "fan1_input",
        ] {
            std::fs::write(dir.path().join(f), "1\n").expect("write");
        }
        assert_eq!(inputs(dir.path(), "temp").expect("temps"), [2, 10]);
        assert_eq!(inputs(dir.path(), "fan").expect("fans"), [1]);
        assert!(
            inputs(&dir.path().join("absent"), "fan")
                .expect("absent")
                .is_empty()
        );
    }

    #[test]
    fn old_style_attributes_under_device_and_missing_labels() {
        let dir = tempfile::tempdir().expect("tempdir");
        let hwmon = dir.path().join("sys/class/hwmon/hwmon0");
        std::fs::create_dir_all(hwmon.join("device")).expect("mkdir");
        std::fs::write(hwmon.join("name"), "k10temp\n").expect("write");
        std::fs::write(hwmon.join("device/temp1_input"), "51250\n").expect("write");
        let found = sensors(&Source::fixture(dir.path())).expect("sensors");
        assert_eq!(
            found,
            [Sensor {
                chip: "k10temp".into(),
                label: "temp1".into(),
                kind: SensorKind::Temperature,
                value: 51.25,
                warning: None,
                critical: None,
            }]
        );
    }

    #[test]
    fn a_garbled_value_names_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let hwmon = dir.path().join("sys/class/hwmon/hwmon3");
        std::fs::create_dir_all(&hwmon).expect("mkdir");
        std::fs::write(hwmon.join("fan1_input"), "fast\n").expect("write");
        let err = sensors(&Source::fixture(dir.path()))
            .expect_err("accepted")
            .to_string();
        assert!(err.contains("hwmon3/fan1_input"), "{err}");
        assert!(err.contains("\"fast\""), "{err}");
    }
}

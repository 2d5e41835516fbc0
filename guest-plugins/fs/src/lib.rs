//! fs: size and usage of each mounted file system (Glances' `fs` plugin).

use glint_sdk::prelude::*;

#[derive(Default)]
struct Fs;

/// psutil's rule: used over what an unprivileged user can reach (used + free), so reserved
/// blocks do not hide a full disk.
fn used_percent(used: u64, free: u64) -> f64 {
    percent(used as f64, used.saturating_add(free) as f64)
}

impl InputPlugin for Fs {
    fn info() -> PluginInfo {
        let text = |name: &str, desc: &str| field(name, Unit::Text, desc);
        let bytes = |name: &str, desc: &str| field(name, Unit::Bytes, desc);
        plugin("fs", "File systems usage", Layout::List)
            .field(text("device_name", "Device name."))
            .field(text("fs_type", "File system type."))
            .field(text("mnt_point", "Mount point."))
            .field(text("options", "Mount options."))
            .field(bytes("size", "Total size."))
            .field(bytes("used", "Space used."))
            .field(bytes("free", "Space available to unprivileged users."))
            .field(
                field(
                    "percent",
                    Unit::Percent,
                    "Used space: used / (used + free).",
                )
                .history(),
            )
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        let filesystems = readings::get_filesystems();
        let mut rows = Rows::new(Some("mnt_point"));
        for f in filesystems {
            let pct = used_percent(f.used, f.free);
            rows.push(
                Row::new()
                    .set("device_name", f.device)
                    .set("fs_type", f.fs_type)
                    .set("mnt_point", f.mount_point)
                    .set("options", f.options)
                    .set("size", f.size)
                    .set("used", f.used)
                    .set("free", f.free)
                    .set("percent", pct),
            );
        }
        Ok(rows.into_table())
    }
}

glint_sdk::export_input!(Fs);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_counts_only_reachable_space() {
        // Reserved blocks (size - used - free) are left out of the whole.
        assert_eq!(used_percent(84_199_976_960, 146_426_339_328), 36.5);
        assert_eq!(used_percent(1, 3), 25.0);
        assert_eq!(used_percent(0, 0), 0.0);
    }
}

//! system: host name, operating system, distribution and architecture (Glances' `system` plugin).

use glint_sdk::prelude::*;

#[derive(Default)]
struct System;

/// Glances' human-readable name: `<distro> <platform>` on Linux, `<os> <version> <platform>`
/// elsewhere.
fn hr_name(os_name: &str, os_version: &str, distro: &str, platform: &str) -> String {
    if os_name == "Linux" {
        format!("{distro} {platform}")
    } else {
        format!("{os_name} {os_version} {platform}")
    }
}

impl InputPlugin for System {
    fn info() -> PluginInfo {
        let text = |name: &str, desc: &str| field(name, Unit::Text, desc);
        plugin(
            "system",
            "Host name, operating system and distribution",
            Layout::Record,
        )
        .field(text("os_name", "Operating system name (`Linux`)."))
        .field(text("hostname", "Host name."))
        .field(text("platform", "`64bit` or `32bit`."))
        .field(text("os_version", "Kernel release."))
        .field(text("linux_distro", "Linux distribution name and version."))
        .field(text("hr_name", "Human-readable operating system name."))
        .field(text("arch", "Machine architecture (`x86_64`)."))
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        let info = readings::get_system_info();
        let hr = hr_name(
            &info.os_name,
            &info.os_version,
            &info.distro,
            &info.platform,
        );
        Ok(Row::new()
            .set("os_name", info.os_name)
            .set("hostname", info.hostname)
            .set("platform", info.platform)
            .set("os_version", info.os_version)
            .set("linux_distro", info.distro)
            .set("hr_name", hr)
            .set("arch", info.arch)
            .into_table())
    }
}

glint_sdk::export_input!(System);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hr_name_is_distro_and_platform_on_linux() {
        assert_eq!(
            hr_name("Linux", "6.1.0-18-amd64", "Debian GNU/Linux 12", "64bit"),
            "Debian GNU/Linux 12 64bit"
        );
    }

    #[test]
    fn hr_name_is_os_and_version_elsewhere() {
        assert_eq!(
            hr_name("FreeBSD", "14.0", "", "64bit"),
            "FreeBSD 14.0 64bit"
        );
    }
}

//! `SystemInfo`: host name, kernel, distribution and architecture.

use serde::{Deserialize, Serialize};

use crate::error::CollectError;
use crate::files::{read_optional, read_trimmed};
use crate::source::{Source, read_once};

/// WIT `system-info`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SystemInfo {
    pub hostname: String,
    /// `Linux`
    pub os_name: String,
    /// Kernel release, e.g. `6.1.0-18-amd64`.
    pub os_version: String,
    /// Distribution, e.g. `Debian GNU/Linux 12 (bookworm)`.
    pub distro: String,
    /// Machine architecture, e.g. `x86_64`.
    pub arch: String,
    /// `64bit` or `32bit`.
    pub platform: String,
}

pub fn system_info(src: &Source) -> Result<SystemInfo, CollectError> {
    let kernel = |name: &str| -> Result<String, CollectError> {
        Ok(read_trimmed(&src.proc_path(&format!("sys/kernel/{name}")))?.unwrap_or_default())
    };
    let distro = read_once(&src.distro, || {
        Ok(read_optional(&src.etc_path("os-release"))?
            .map_or_else(String::new, |t| distro_name(&t)))
    })?;
    let (os_name, os_version) = read_once(&src.kernel, || {
        Ok((kernel("ostype")?, kernel("osrelease")?))
    })?;
    Ok(SystemInfo {
        hostname: kernel("hostname")?,
        os_name,
        os_version,
        distro,
        arch: src.syscalls.arch()?,
        platform: src.syscalls.platform()?,
    })
}

/// `PRETTY_NAME` of an os-release file; os-release(5) says to fall back to `NAME`, and that both
/// default to `Linux`.
fn distro_name(text: &str) -> String {
    os_release_value(text, "PRETTY_NAME")
        .or_else(|| os_release_value(text, "NAME"))
        .unwrap_or_else(|| "Linux".to_string())
}

/// The value of `key` in os-release's shell-like `KEY="value"` syntax.
fn os_release_value(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|line| {
        let (k, v) = line.trim().split_once('=')?;
        (k.trim() == key).then(|| unquote(v.trim()))
    })
}

/// Strips one level of shell quoting: `"a \"b\""` → `a "b"`, `'a'` → `a`.
fn unquote(value: &str) -> String {
    if value.len() >= 2 && value.starts_with('\'') && value.ends_with('\'') {
        return value[1..value.len() - 1].to_string();
    }
    let inner = if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
        &value[1..value.len() - 1]
    } else {
        value
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            // os-release(5): `\"`, `\\`, `\$` and `` \` `` escape the next character.
            if let Some(next) = chars.next() {
                out.push(next);
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_name_is_unquoted() {
        let text = "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n";
        assert_eq!(distro_name(text), "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(distro_name("PRETTY_NAME='Alpine v3'\n"), "Alpine v3");
        assert_eq!(distro_name("PRETTY_NAME=Arch\n"), "Arch");
        assert_eq!(
            distro_name("PRETTY_NAME=\"say \\\"hi\\\"\"\n"),
            "say \"hi\""
        );
    }

    #[test]
    fn without_pretty_name_the_name_then_linux() {
        assert_eq!(distro_name("# x\nNAME=Gentoo\n"), "Gentoo");
        assert_eq!(distro_name("ID=foo\n"), "Linux");
    }

    #[test]
    fn a_lone_quote_is_kept() {
        assert_eq!(distro_name("PRETTY_NAME=\"\n"), "\"");
    }
}

//! file: the file a file exporter (CSV, JSON lines) writes to, named by its `file` setting,
//! and what each I/O error means for the export (fix the setting, or try again later).

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::path::Path;

use super::Settings;
use crate::ExportError;

/// An exporter's open output file.
pub struct Output {
    file: File,
    /// The `file` setting, for messages.
    path: String,
    /// What messages call it (`CSV file`).
    what: &'static str,
}

impl Output {
    /// Opens the file the `file` setting names (required, an absolute path: glint grants the
    /// plugin that file's directory), creating it: to append, or with `truncate` emptied
    /// first. A missing directory or a refused one (not granted, not writable) is permanent —
    /// the setting or the grant needs fixing; any other error (too many open files) is
    /// retryable.
    pub fn open(
        settings: &Settings,
        plugin: &str,
        what: &'static str,
        truncate: bool,
    ) -> Result<Output, ExportError> {
        let file = settings.required("file", plugin)?.trim().to_string();
        let path = Path::new(&file);
        if !path.is_absolute() {
            return Err(ExportError::Permanent(format!(
                "`file` in [plugins.{plugin}] must be an absolute path, not {file:?}"
            )));
        }
        let mut options = OpenOptions::new();
        options.create(true);
        if truncate {
            options.write(true).truncate(true);
        } else {
            options.append(true);
        }
        let opened = options.open(path).map_err(|e| {
            let message = format!("cannot open {what} {}: {e}", path.display());
            match e.kind() {
                ErrorKind::NotFound
                | ErrorKind::PermissionDenied
                | ErrorKind::NotADirectory
                | ErrorKind::IsADirectory => ExportError::Permanent(format!(
                    "{message}; check `file` in [plugins.{plugin}]: its directory must exist and be \
                     the one glint grants this plugin"
                )),
                _ => ExportError::Retryable(message),
            }
        })?;
        Ok(Output {
            file: opened,
            path: file,
            what,
        })
    }

    /// Whether the file is empty (new, or emptied by `truncate`).
    pub fn is_empty(&self) -> Result<bool, ExportError> {
        self.file
            .metadata()
            .map(|m| m.len() == 0)
            .map_err(|e| ExportError::Retryable(format!("{} {}: {e}", self.what, self.path)))
    }

    /// Writes `text` and flushes it; a failure (a full disk) is retryable.
    pub fn write(&mut self, text: &str) -> Result<(), ExportError> {
        self.file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.flush())
            .map_err(|e| {
                ExportError::Retryable(format!("writing {} {}: {e}", self.what, self.path))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(path: &Path, truncate: bool) -> Result<Output, ExportError> {
        let file = path.display().to_string();
        Output::open(
            &Settings::from_text(&[("file", file.as_str())]),
            "csv",
            "CSV file",
            truncate,
        )
    }

    #[test]
    fn a_file_is_appended_to_or_emptied_and_a_bad_path_is_permanent() {
        let dir = std::env::temp_dir().join(format!("glint-sdk-file-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(matches!(
            open(Path::new("out.csv"), false),
            Err(ExportError::Permanent(m)) if m.contains("must be an absolute path")
        ));
        assert!(matches!(
            open(&dir.join("out.csv"), false),
            Err(ExportError::Permanent(m))
                if m.starts_with("cannot open CSV file ") && m.contains("[plugins.csv]")
        ));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let path = dir.join("out.csv");
        let mut out = open(&path, false).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(matches!(out.is_empty(), Ok(true)));
        out.write("a\n").unwrap_or_else(|e| panic!("{e:?}"));
        let mut out = open(&path, false).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(matches!(out.is_empty(), Ok(false)));
        out.write("b\n").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(
            std::fs::read_to_string(&path).ok().as_deref(),
            Some("a\nb\n")
        );
        let out = open(&path, true).unwrap_or_else(|e| panic!("{e:?}"));
        assert!(matches!(out.is_empty(), Ok(true)));
        let _ = std::fs::remove_dir_all(&dir);
    }
}

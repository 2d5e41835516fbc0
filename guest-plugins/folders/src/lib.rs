//! folders: the size of each folder the operator configured (`[readings] folders`); the host
//! walks them (Glances' `folders` plugin).

use glint_sdk::prelude::*;

#[derive(Default)]
struct Folders;

impl InputPlugin for Folders {
    fn info() -> PluginInfo {
        plugin("folders", "Size of the configured folders", Layout::List)
            .field(field("path", Unit::Text, "Folder path."))
            .field(field("size", Unit::Bytes, "Bytes of the files under it."))
            .field(field(
                "errno",
                Unit::Number,
                "0, or the OS error number that stopped the walk.",
            ))
    }

    fn update(&mut self, _tick: &Tick) -> Result<Table, String> {
        let mut rows = Rows::new(Some("path"));
        for folder in readings::get_folders() {
            rows.push(
                Row::new()
                    .set("path", folder.path)
                    .set("size", folder.size)
                    .set("errno", folder.errno),
            );
        }
        Ok(rows.into_table())
    }
}

glint_sdk::export_input!(Folders);

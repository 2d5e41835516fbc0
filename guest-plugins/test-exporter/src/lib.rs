//! test-exporter: a test guest (not a default plugin) of the exporter world that accepts
//! non-empty batches and asks for a retry of empty ones.

use glint_sdk::{Batch, ExportError, Layout, PluginInfo, PluginInfoExt, PluginKind};

struct TestExporter;

impl glint_sdk::exporter::Guest for TestExporter {
    fn describe() -> PluginInfo {
        glint_sdk::plugin(
            "test-exporter",
            "Test guest: accepts non-empty batches, retries empty ones",
            Layout::Record,
        )
        .kind(PluginKind::Exporter)
    }

    fn export(batch: Batch) -> Result<(), ExportError> {
        if batch.tables.is_empty() {
            Err(ExportError::Retryable("empty batch".to_string()))
        } else {
            Ok(())
        }
    }
}

glint_sdk::exporter::export_exporter_world!(TestExporter with_types_in glint_sdk::exporter);

//! test-exporter: a test guest (not a default plugin) of the exporter world that accepts
//! batches with tables and asks for a retry of empty ones.

use glint_sdk::{Batch, ExportError, ExporterPlugin, PluginInfo, Schema};

#[derive(Default)]
struct TestExporter;

impl ExporterPlugin for TestExporter {
    fn info() -> PluginInfo {
        glint_sdk::exporter(
            "test-exporter",
            "Test guest: accepts batches with tables, retries empty ones",
        )
    }

    fn export(&mut self, _schema: &[Schema], batches: &[Batch]) -> Result<(), ExportError> {
        if batches.iter().any(|b| b.tables.is_empty()) {
            Err(ExportError::Retryable("empty batch".to_string()))
        } else {
            Ok(())
        }
    }
}

glint_sdk::export_exporter!(TestExporter);

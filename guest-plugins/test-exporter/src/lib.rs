//! test-exporter: a test guest (not a default plugin) of the exporter world that accepts
//! non-empty batches and asks for a retry of empty ones.

use glint_sdk::exporter::glint::plugin::types::{
    Batch, ExportError, Layout, PluginInfo, PluginKind,
};

struct TestExporter;

impl glint_sdk::exporter::Guest for TestExporter {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "test-exporter".to_string(),
            description: "Test guest: accepts non-empty batches, retries empty ones".to_string(),
            interfaces: vec![PluginKind::Exporter],
            api_version: glint_sdk::API_VERSION,
            layout: Layout::Record,
            fields: Vec::new(),
            reads: Vec::new(),
        }
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

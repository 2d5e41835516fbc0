//! Owns the grouping of input plugins into waves: a plugin that reads others' stats runs in a
//! wave after theirs.

use std::sync::Arc;

use crate::stats::snapshot::PluginMeta;

/// Groups plugins into waves: a plugin runs in the wave after the last plugin it reads.
/// Reads of plugins that are not loaded are ignored; a cycle is broken by running the rest
/// in a last wave.
pub fn waves(metas: &[Arc<PluginMeta>]) -> Vec<Vec<usize>> {
    let index_of = |name: &str| metas.iter().position(|m| m.name == name);
    let mut wave_of: Vec<Option<usize>> = vec![None; metas.len()];
    let mut progress = true;
    while progress {
        progress = false;
        for (i, meta) in metas.iter().enumerate() {
            if wave_of[i].is_some() {
                continue;
            }
            let deps: Vec<usize> = meta
                .reads
                .iter()
                .filter_map(|r| index_of(r))
                .filter(|&d| d != i)
                .collect();
            if deps.iter().all(|&d| wave_of[d].is_some()) {
                let w = deps
                    .iter()
                    .filter_map(|&d| wave_of[d])
                    .max()
                    .map_or(0, |m| m + 1);
                wave_of[i] = Some(w);
                progress = true;
            }
        }
    }
    let last = wave_of.iter().flatten().max().map_or(0, |m| m + 1);
    let mut waves: Vec<Vec<usize>> = Vec::new();
    for (i, w) in wave_of.iter().enumerate() {
        let w = w.unwrap_or(last);
        if waves.len() <= w {
            waves.resize(w + 1, Vec::new());
        }
        waves[w].push(i);
    }
    waves.retain(|w| !w.is_empty());
    waves
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::Layout;
    use crate::stats::snapshot::PluginSource;

    fn meta(name: &str, reads: &[&str]) -> Arc<PluginMeta> {
        Arc::new(PluginMeta {
            name: name.into(),
            description: String::new(),
            api_version: 1,
            layout: Layout::Record,
            fields: Vec::new(),
            reads: reads.iter().map(|s| s.to_string()).collect(),
            source: PluginSource::Embedded,
            history_columns: Vec::new(),
        })
    }

    #[test]
    fn readers_run_after_what_they_read() {
        let metas = vec![
            meta("alert", &["cpu", "summary"]),
            meta("cpu", &[]),
            meta("summary", &["cpu", "missing"]),
            meta("mem", &[]),
        ];
        assert_eq!(waves(&metas), vec![vec![1, 3], vec![2], vec![0]]);
    }

    #[test]
    fn cycles_end_up_in_a_last_wave() {
        let metas = vec![meta("a", &["b"]), meta("b", &["a"]), meta("c", &[])];
        assert_eq!(waves(&metas), vec![vec![2], vec![0, 1]]);
    }
}

//! The left column: network and disk I/O rates, filesystems, RAID arrays and sensors, one
//! block under another (Glances' order), each cut to the rows left.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use serde_json::Value;

use super::cells::{decor_style, fit, fit_right, put, title_style, to_u16};
use crate::tui::app::App;
use crate::tui::format::{self, Precision, RateUnit};
use crate::tui::model::{self, Decor, Decoration, Stats};

/// Width of the column. At 80 columns, 30 leaves the process list its essential columns and a
/// readable command; wider screens give names more room.
pub(super) fn width(app: &App, screen_w: u16) -> u16 {
    let show = app.show;
    if !(show.network || show.diskio || show.fs || show.sensors) {
        return 0;
    }
    if screen_w < 100 {
        30
    } else if screen_w < 150 {
        34
    } else {
        40
    }
}

/// Columns of a rate (`1023Kb`, `9.42Mb`: 6, and one to spare).
const RATE_W: usize = 7;
/// Columns of a size (`18.6G`, 5, and one to spare so columns never touch).
const SIZE_W: usize = 6;
/// Columns of a percent (`100.0%`).
const PERCENT_W: usize = 6;

/// One line of a block: a name, then each value with its style.
type Entry = (String, Vec<(String, Style)>);

/// One block: a title line with the heads (and widths) of the value columns, then a line per
/// row.
struct Section {
    title: &'static str,
    heads: Vec<(&'static str, usize)>,
    rows: Vec<Entry>,
}

impl Section {
    fn lines(self, width: usize) -> Vec<Line<'static>> {
        let values_w: usize = self.heads.iter().map(|(_, w)| w + 1).sum();
        let name_w = width.saturating_sub(values_w);
        let mut title = vec![Span::styled(fit(self.title, name_w), title_style())];
        for (head, w) in &self.heads {
            title.push(Span::styled(
                format!(" {}", fit_right(head, *w)),
                title_style(),
            ));
        }
        let mut lines = vec![Line::from(title)];
        for (name, values) in self.rows {
            let mut spans = vec![Span::raw(fit(&name, name_w))];
            for ((value, style), (_, w)) in values.into_iter().zip(&self.heads) {
                spans.push(Span::raw(" "));
                spans.push(Span::styled(fit_right(&value, *w), style));
            }
            lines.push(Line::from(spans));
        }
        lines
    }
}

pub(super) fn draw(frame: &mut Frame, app: &App, stats: &Stats, area: Rect) {
    if area.width == 0 {
        return;
    }
    let show = app.show;
    let sections = [
        show.network.then(|| network(stats, app.bits)).flatten(),
        show.diskio.then(|| diskio(stats)).flatten(),
        show.fs.then(|| filesystems(stats)).flatten(),
        show.fs.then(|| raid(stats)).flatten(),
        show.sensors.then(|| sensors(stats)).flatten(),
    ];
    let mut y = 0u16;
    for section in sections.into_iter().flatten() {
        let room = area.height.saturating_sub(y);
        // A title without one of its rows tells nothing.
        if room < 2 {
            break;
        }
        let mut lines = section.lines(usize::from(area.width));
        let count = to_u16(lines.len()).min(room);
        lines.truncate(usize::from(count));
        let rect = Rect {
            y: area.y + y,
            height: count,
            ..area
        };
        put(frame, rect, lines);
        // A blank line between blocks.
        y = y.saturating_add(count).saturating_add(1);
    }
}

/// The object rows of a list plugin, with their index (the index of their views).
fn objects<'a>(stats: &'a Stats, plugin: &str) -> impl Iterator<Item = (usize, &'a Value)> {
    stats
        .rows(plugin)
        .iter()
        .enumerate()
        .filter(|(_, row)| row.is_object())
}

/// A value of row `index` of `plugin`, shown by `show`, in its field's decoration.
fn value(
    stats: &Stats,
    plugin: &str,
    (index, row): (usize, &Value),
    field: &str,
    show: impl Fn(f64) -> String,
) -> (String, Style) {
    let text = model::num(row, field).map_or_else(|| "-".to_string(), show);
    (
        text,
        decor_style(stats.decoration(plugin, Some(index), field)),
    )
}

fn section_of(
    title: &'static str,
    heads: Vec<(&'static str, usize)>,
    rows: Vec<Entry>,
) -> Option<Section> {
    // Glances leaves out a block with nothing in it.
    (!rows.is_empty()).then_some(Section { title, heads, rows })
}

fn name(row: &Value, field: &str) -> String {
    model::text(row, field).unwrap_or("-").to_string()
}

fn network(stats: &Stats, bits: bool) -> Option<Section> {
    let unit = if bits {
        RateUnit::Bits
    } else {
        RateUnit::Bytes
    };
    let rate = |v: f64| format::rate(v, unit);
    let rows = objects(stats, "network")
        .map(|entry| {
            // Glances shows an interface's alias when it has one.
            let label = model::text(entry.1, "alias")
                .filter(|alias| !alias.is_empty())
                .map_or_else(|| name(entry.1, "interface_name"), str::to_string);
            let rx = value(stats, "network", entry, "bytes_recv_rate_per_sec", rate);
            let tx = value(stats, "network", entry, "bytes_sent_rate_per_sec", rate);
            (label, vec![rx, tx])
        })
        .collect();
    section_of("NETWORK", vec![("Rx/s", RATE_W), ("Tx/s", RATE_W)], rows)
}

fn diskio(stats: &Stats) -> Option<Section> {
    let rate = |v: f64| format::rate(v, RateUnit::Bytes);
    let rows = objects(stats, "diskio")
        .map(|entry| {
            let read = value(stats, "diskio", entry, "read_bytes_rate_per_sec", rate);
            let write = value(stats, "diskio", entry, "write_bytes_rate_per_sec", rate);
            (name(entry.1, "disk_name"), vec![read, write])
        })
        .collect();
    section_of("DISK I/O", vec![("R/s", RATE_W), ("W/s", RATE_W)], rows)
}

fn filesystems(stats: &Stats) -> Option<Section> {
    let size = |v: f64| format::auto_unit(v, Precision::Normal);
    let rows = objects(stats, "fs")
        .map(|entry| {
            // The percent's limits decorate the used size too (Glances).
            let percent = value(stats, "fs", entry, "percent", format::percent);
            let used = (value(stats, "fs", entry, "used", size).0, percent.1);
            let total = value(stats, "fs", entry, "size", size);
            (name(entry.1, "mnt_point"), vec![used, total, percent])
        })
        .collect();
    let heads = vec![("Used", SIZE_W), ("Total", SIZE_W), ("%", PERCENT_W)];
    section_of("FILE SYS", heads, rows)
}

fn raid(stats: &Stats) -> Option<Section> {
    let rows = objects(stats, "raid")
        .map(|(_, row)| {
            let level = model::text(row, "type").unwrap_or("").to_uppercase();
            let label = format!("{level} {}", name(row, "name")).trim().to_string();
            let used = model::int(row, "used");
            let available = model::int(row, "available");
            // Glances: an inactive array is critical, a degraded one (members missing) a
            // warning.
            let decoration = match (model::text(row, "status"), used, available) {
                (Some(status), _, _) if status != "active" => Decoration::Critical,
                (_, Some(used), Some(available)) if used < available => Decoration::Warning,
                (Some(_), Some(_), Some(_)) => Decoration::Ok,
                _ => Decoration::Default,
            };
            let style = decor_style(Decor::new(decoration));
            let count = |n: Option<i64>| n.map_or_else(|| "-".to_string(), |n| n.to_string());
            (label, vec![(count(used), style), (count(available), style)])
        })
        .collect();
    section_of("RAID disks", vec![("Used", 5), ("Avail", 5)], rows)
}

fn sensors(stats: &Stats) -> Option<Section> {
    let rows = objects(stats, "sensors")
        .map(|(index, row)| {
            let unit = model::text(row, "unit").unwrap_or("");
            let reading = model::num(row, "value");
            let text = reading.map_or_else(|| "-".to_string(), |v| format!("{v:.0}{unit}"));
            let mut decor = stats.decoration("sensors", Some(index), "value");
            // No limits from the server: the hardware's own thresholds, as Glances uses them.
            if decor.decoration == Decoration::Default {
                decor = Decor::new(hardware_level(row, reading));
            }
            (name(row, "label"), vec![(text, decor_style(decor))])
        })
        .collect();
    section_of("SENSORS", vec![("", 8)], rows)
}

/// A reading against the thresholds the sensor reports; Default when it reports none.
fn hardware_level(row: &Value, reading: Option<f64>) -> Decoration {
    let (Some(reading), warning, critical) = (
        reading,
        model::num(row, "warning"),
        model::num(row, "critical"),
    ) else {
        return Decoration::Default;
    };
    match (warning, critical) {
        (_, Some(critical)) if reading >= critical => Decoration::Critical,
        (Some(warning), _) if reading >= warning => Decoration::Warning,
        (None, None) => Decoration::Default,
        _ => Decoration::Ok,
    }
}

//! The top of the screen: the header line (connection, host, system, IP, uptime), then the
//! quick-look bars beside the CPU, MEM, SWAP and LOAD blocks, as many as the width holds.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use serde_json::Value;

use super::cells::{decor_style, fit, put, shorten, title_style, to_u16};
use crate::tui::app::App;
use crate::tui::format::{self, Precision};
use crate::tui::model::{self, Decor, Stats};

/// Columns of one `label value` cell of the CPU/MEM/SWAP/LOAD blocks: the longest label
/// (`buffers`, 7), a space, the longest value (`100.0%`, 6).
const CELL: u16 = 14;
/// Between two cells of one block: two spaces keep `68.2%  idle` apart.
const CELL_GAP: u16 = 2;
/// Least space between two blocks; CPU2 MEM1 SWAP LOAD with it is 78 columns, which is what
/// lets 80 columns show all four blocks.
const BLOCK_GAP: u16 = 2;
/// A quick look narrower than this has bars too short to compare.
const QUICKLOOK_MIN: u16 = 22;
/// Wider bars tell nothing more; the rest of a wide screen goes between the blocks.
const QUICKLOOK_MAX: u16 = 60;
/// Lines of the CPU/MEM/SWAP/LOAD blocks (Glances' four).
const BLOCK_LINES: u16 = 4;

/// One arrangement of the top blocks: with the quick look or not, and how many cells per line
/// the CPU and MEM blocks have.
#[derive(Debug, Clone, Copy)]
struct Plan {
    quicklook: bool,
    cpu: u16,
    mem: u16,
    swap: bool,
}

/// Widest first: the first that fits the screen is drawn. At 80 columns that is the fourth
/// (no quick look, as Glances does on a narrow screen).
const PLANS: [Plan; 6] = [
    plan(true, 3, 2, true),
    plan(true, 2, 2, true),
    plan(true, 2, 1, true),
    plan(false, 2, 1, true),
    plan(false, 1, 1, true),
    plan(false, 1, 1, false),
];

const fn plan(quicklook: bool, cpu: u16, mem: u16, swap: bool) -> Plan {
    Plan {
        quicklook,
        cpu,
        mem,
        swap,
    }
}

impl Plan {
    /// The blocks besides the quick look: CPU, MEM, SWAP, LOAD.
    fn blocks(self) -> Vec<u16> {
        let mut widths = vec![block_width(self.cpu), block_width(self.mem)];
        if self.swap {
            widths.push(CELL);
        }
        widths.push(CELL);
        widths
    }

    fn min_width(self) -> u16 {
        let blocks = self.blocks();
        let count = to_u16(blocks.len()) + u16::from(self.quicklook);
        let quicklook = if self.quicklook { QUICKLOOK_MIN } else { 0 };
        blocks.iter().sum::<u16>() + quicklook + (count - 1) * BLOCK_GAP
    }
}

fn block_width(cells: u16) -> u16 {
    cells * CELL + cells.saturating_sub(1) * CELL_GAP
}

#[derive(Debug, Clone, Copy)]
enum Part {
    QuickLook,
    Cpu(u16),
    Mem(u16),
    Swap,
    Load,
}

/// Lines the top blocks take: four, or more for per-CPU bars.
pub(super) fn height(app: &App, screen_h: u16) -> u16 {
    let Some(stats) = &app.stats else {
        return BLOCK_LINES;
    };
    if !app.percpu {
        return BLOCK_LINES;
    }
    let cpus = to_u16(cpu_bars(stats).len()).max(1);
    (percpu_lines(cpus, screen_h) + 3).max(BLOCK_LINES)
}

/// Per-CPU bars shown: the top blocks take at most a third of the screen, so a many-core
/// machine leaves room for the process list (the first CPUs are shown).
fn percpu_lines(cpus: u16, screen_h: u16) -> u16 {
    cpus.min((screen_h / 3).saturating_sub(3).max(1))
}

/// The quick look and the CPU, MEM, SWAP and LOAD blocks, spread over the width.
pub(super) fn draw(frame: &mut Frame, app: &App, stats: &Stats, area: Rect) {
    let Some(plan) = PLANS.iter().copied().find(|p| p.min_width() <= area.width) else {
        return;
    };
    let fixed: u16 = plan.blocks().iter().sum();
    let count = to_u16(plan.blocks().len()) + u16::from(plan.quicklook);
    let mut parts = Vec::new();
    if plan.quicklook {
        let room = area.width.saturating_sub(fixed + (count - 1) * BLOCK_GAP);
        parts.push((Part::QuickLook, room.min(QUICKLOOK_MAX)));
    }
    // No room for a quick look beside the CPU block: per-CPU bars take the CPU block's place.
    let cpu = if app.percpu && !plan.quicklook {
        Part::QuickLook
    } else {
        Part::Cpu(plan.cpu)
    };
    parts.push((cpu, block_width(plan.cpu)));
    parts.push((Part::Mem(plan.mem), block_width(plan.mem)));
    if plan.swap {
        parts.push((Part::Swap, CELL));
    }
    parts.push((Part::Load, CELL));
    let used: u16 = parts.iter().map(|(_, width)| width).sum();
    let gap = area.width.saturating_sub(used) / to_u16(parts.len() - 1).max(1);
    let mut x = area.x;
    for (part, width) in parts {
        let width = width.min(area.right().saturating_sub(x));
        let rect = Rect::new(x, area.y, width, area.height);
        let lines = match part {
            Part::QuickLook => quicklook(stats, app.percpu, area.height.saturating_sub(3), width),
            Part::Cpu(cells) => block_lines(cpu_block(stats, cells)),
            Part::Mem(cells) => block_lines(mem_block(stats, cells)),
            Part::Swap => block_lines(swap_block(stats)),
            Part::Load => block_lines(load_block(stats)),
        };
        put(frame, rect, lines);
        x = x.saturating_add(width).saturating_add(gap);
    }
}

/// The header line: a lost connection first (red), the host, its system, its IP; the uptime
/// on the right. The system description is shortened before anything else is cut.
pub(super) fn header(frame: &mut Frame, app: &App, area: Rect) {
    let stats = app.stats.as_ref();
    let uptime = stats
        .and_then(|s| s.value("uptime"))
        .and_then(Value::as_str)
        .map(|uptime| format!("Uptime: {uptime}"));
    let uptime_w = uptime.as_ref().map_or(0, |u| u.chars().count());
    let room = usize::from(area.width).saturating_sub(uptime_w + 1);
    let mut spans: Vec<Span<'static>> = Vec::new();
    if let Some(reason) = &app.disconnected {
        let text = match &app.source {
            Some(source) => format!("Disconnected from {source}: {reason}"),
            None => format!("Disconnected: {reason}"),
        };
        let red = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
        spans.push(Span::styled(text, red));
        spans.push(Span::raw("  "));
    }
    if let Some(stats) = stats {
        if let Some(host) = stats.text("system", "hostname") {
            spans.push(Span::styled(fit(host, host.chars().count()), title_style()));
        }
        let ip = ip_text(stats).map(|ip| format!(" - IP {ip}"));
        if let Some(system) = system_text(stats) {
            let taken: usize = spans.iter().map(Span::width).sum();
            let ip_w = ip.as_ref().map_or(0, |ip| ip.chars().count());
            let left = room.saturating_sub(taken + ip_w);
            // " (" + text + ")": keep at least a few characters of it, or leave it out.
            if system.chars().count() + 3 <= left {
                spans.push(Span::raw(format!(" ({system})")));
            } else if left >= 8 {
                spans.push(Span::raw(format!(" ({})", shorten(&system, left - 3))));
            }
        }
        if let Some(ip) = ip {
            spans.push(Span::raw(ip));
        }
    }
    let left = Rect {
        width: to_u16(room),
        ..area
    };
    put(frame, left, vec![Line::from(spans)]);
    if let Some(uptime) = uptime {
        let width = to_u16(uptime_w);
        if width < area.width {
            let right = Rect {
                x: area.right() - width,
                width,
                ..area
            };
            put(frame, right, vec![Line::from(uptime)]);
        }
    }
}

/// `Debian GNU/Linux 12 (bookworm) 64bit / Linux 6.1.0` (Glances' system line).
fn system_text(stats: &Stats) -> Option<String> {
    let distro = stats
        .text("system", "hr_name")
        .or_else(|| stats.text("system", "linux_distro"));
    let os = [
        stats.text("system", "os_name"),
        stats.text("system", "os_version"),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    match (distro, os.is_empty()) {
        (Some(distro), false) => Some(format!("{distro} / {os}")),
        (Some(distro), true) => Some(distro.to_string()),
        (None, false) => Some(os),
        (None, true) => None,
    }
}

/// `192.0.2.2/24`, and the public address when the server knows it.
fn ip_text(stats: &Stats) -> Option<String> {
    let address = stats.text("ip", "address")?;
    let mut text = address.to_string();
    if let Some(cidr) = stats.value("ip").and_then(|ip| model::int(ip, "mask_cidr")) {
        text.push_str(&format!("/{cidr}"));
    }
    if let Some(public) = stats.text("ip", "public_address") {
        text.push_str(&format!(" Pub {public}"));
    }
    Some(text)
}

/// Label, busy percent and decoration of each CPU's bar.
fn cpu_bars(stats: &Stats) -> Vec<(String, Option<f64>, Decor)> {
    let rows = stats.rows("percpu");
    if !rows.is_empty() {
        return rows
            .iter()
            .enumerate()
            .map(|(i, row)| {
                let number = model::int(row, "cpu_number").unwrap_or_else(|| to_i64(i));
                let busy = model::num(row, "total")
                    .or_else(|| model::num(row, "idle").map(|idle| 100.0 - idle));
                // The total has no limits of its own: the bar takes the worst of its parts.
                let decor = ["total", "user", "system", "iowait"]
                    .iter()
                    .map(|field| stats.decoration("percpu", Some(i), field))
                    .max()
                    .unwrap_or_default();
                (format!("CPU{number}"), busy, decor)
            })
            .collect();
    }
    // A server without the percpu plugin: the quick look's own list, undecorated.
    let list = stats
        .value("quicklook")
        .and_then(|quicklook| quicklook.get("percpu"))
        .and_then(Value::as_array);
    list.map(|list| {
        list.iter()
            .enumerate()
            .map(|(i, busy)| (format!("CPU{i}"), busy.as_f64(), Decor::default()))
            .collect()
    })
    .unwrap_or_default()
}

fn to_i64(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Glances' quick look: a bar per CPU (or one for all), then MEM, SWAP and LOAD.
fn quicklook(stats: &Stats, percpu: bool, cpu_lines: u16, width: u16) -> Vec<Line<'static>> {
    // The quick look's own field, else the same number from its plugin (a server without
    // the quicklook plugin).
    let percent = |field: &str, fallback: Option<(&str, &str)>| {
        let value = stats
            .num("quicklook", field)
            .or_else(|| fallback.and_then(|(plugin, field)| stats.num(plugin, field)));
        (value, stats.decoration("quicklook", None, field))
    };
    let mut bars = Vec::new();
    let cpus = if percpu { cpu_bars(stats) } else { Vec::new() };
    if cpus.is_empty() {
        let (value, decor) = percent("cpu", Some(("cpu", "total")));
        bars.push(("CPU".to_string(), value, decor));
    } else {
        bars.extend(cpus.into_iter().take(usize::from(cpu_lines.max(1))));
    }
    let (value, decor) = percent("mem", Some(("mem", "percent")));
    bars.push(("MEM".to_string(), value, decor));
    let (value, decor) = percent("swap", Some(("memswap", "percent")));
    bars.push(("SWAP".to_string(), value, decor));
    let (value, decor) = percent("load", None);
    bars.push(("LOAD".to_string(), value, decor));
    let label_w = bars
        .iter()
        .map(|(label, _, _)| label.chars().count())
        .max()
        .unwrap_or(0);
    bars.into_iter()
        .map(|(label, value, decor)| {
            bar_line(
                &label,
                label_w,
                value,
                decor_style(decor),
                usize::from(width),
            )
        })
        .collect()
}

/// `CPU  [||||||||||        68.2%]`: the percent ends the bar, both in the decoration's style.
fn bar_line(
    label: &str,
    label_w: usize,
    value: Option<f64>,
    style: Style,
    width: usize,
) -> Line<'static> {
    let inner = width.saturating_sub(label_w + 3);
    let text = value.map_or_else(|| "-".to_string(), format::percent);
    let body_w = inner.saturating_sub(text.chars().count());
    let filled = value.map_or(0, |v| {
        (v.clamp(0.0, 100.0) / 100.0 * inner as f64).round() as usize
    });
    let body: String = (0..body_w)
        .map(|i| if i < filled { '|' } else { ' ' })
        .collect();
    Line::from(vec![
        Span::styled(fit(label, label_w), title_style()),
        Span::raw(" ["),
        Span::styled(body, style),
        Span::styled(text, style),
        Span::raw("]"),
    ])
}

/// One `label value` cell of a block.
struct Item {
    label: &'static str,
    value: String,
    style: Style,
    /// The block's first cell (`CPU`, `MEM`) is its title.
    title: bool,
}

impl Item {
    fn spans(self) -> [Span<'static>; 2] {
        let label_w = usize::from(CELL).saturating_sub(self.value.chars().count());
        let label_style = if self.title {
            title_style()
        } else {
            Style::new()
        };
        [
            Span::styled(fit(self.label, label_w), label_style),
            Span::styled(self.value, self.style),
        ]
    }
}

/// Lines of a block given as columns of cells.
fn block_lines(columns: Vec<Vec<Item>>) -> Vec<Line<'static>> {
    let rows = columns.iter().map(Vec::len).max().unwrap_or(0);
    let mut columns: Vec<_> = columns.into_iter().map(Vec::into_iter).collect();
    (0..rows)
        .map(|_| {
            let mut spans = Vec::new();
            for (c, column) in columns.iter_mut().enumerate() {
                if c > 0 {
                    spans.push(Span::raw(" ".repeat(usize::from(CELL_GAP))));
                }
                match column.next() {
                    Some(item) => spans.extend(item.spans()),
                    None => spans.push(Span::raw(" ".repeat(usize::from(CELL)))),
                }
            }
            Line::from(spans)
        })
        .collect()
}

/// A cell showing `plugin.field` through `show`, in the field's decoration.
fn item(
    stats: &Stats,
    plugin: &str,
    field: &str,
    label: &'static str,
    show: fn(f64) -> String,
) -> Item {
    Item {
        label,
        value: stats
            .num(plugin, field)
            .map_or_else(|| "-".to_string(), show),
        style: decor_style(stats.decoration(plugin, None, field)),
        title: false,
    }
}

fn titled(mut item: Item) -> Item {
    item.title = true;
    item
}

fn size(value: f64) -> String {
    format::auto_unit(value, Precision::Normal)
}

fn load(value: f64) -> String {
    format!("{value:.2}")
}

/// CPU: total, user, system, iowait | idle, irq, nice, steal | ctx_sw, inter, sw_int, guest.
fn cpu_block(stats: &Stats, cells: u16) -> Vec<Vec<Item>> {
    let pct = |field: &str, label: &'static str| item(stats, "cpu", field, label, format::percent);
    let rate = |field: &str, label: &'static str| item(stats, "cpu", field, label, size);
    let columns = vec![
        vec![
            titled(pct("total", "CPU")),
            pct("user", "user"),
            pct("system", "system"),
            pct("iowait", "iowait"),
        ],
        vec![
            pct("idle", "idle"),
            pct("irq", "irq"),
            pct("nice", "nice"),
            pct("steal", "steal"),
        ],
        vec![
            rate("ctx_switches_rate_per_sec", "ctx_sw"),
            rate("interrupts_rate_per_sec", "inter"),
            rate("soft_interrupts_rate_per_sec", "sw_int"),
            pct("guest", "guest"),
        ],
    ];
    columns.into_iter().take(usize::from(cells)).collect()
}

/// MEM: percent, total, used, free | available, cached, buffers, active.
fn mem_block(stats: &Stats, cells: u16) -> Vec<Vec<Item>> {
    let bytes = |field: &str, label: &'static str| item(stats, "mem", field, label, size);
    let columns = vec![
        vec![
            titled(item(stats, "mem", "percent", "MEM", format::percent)),
            bytes("total", "total"),
            bytes("used", "used"),
            bytes("free", "free"),
        ],
        vec![
            bytes("available", "avail"),
            bytes("cached", "cached"),
            bytes("buffers", "buffers"),
            bytes("active", "active"),
        ],
    ];
    columns.into_iter().take(usize::from(cells)).collect()
}

/// SWAP: percent, total, used, free.
fn swap_block(stats: &Stats) -> Vec<Vec<Item>> {
    let bytes = |field: &str, label: &'static str| item(stats, "memswap", field, label, size);
    vec![vec![
        titled(item(stats, "memswap", "percent", "SWAP", format::percent)),
        bytes("total", "total"),
        bytes("used", "used"),
        bytes("free", "free"),
    ]]
}

/// LOAD: the core count, then the 1, 5 and 15 minute averages.
fn load_block(stats: &Stats) -> Vec<Vec<Item>> {
    let average = |field: &str, label: &'static str| item(stats, "load", field, label, load);
    let cores = stats
        .value("load")
        .and_then(|load| model::int(load, "cpucore"))
        .map_or_else(|| "-".to_string(), |cores| format!("{cores}core"));
    let title = Item {
        label: "LOAD",
        value: cores,
        style: Style::new(),
        title: true,
    };
    vec![vec![
        title,
        average("min1", "1 min"),
        average("min5", "5 min"),
        average("min15", "15 min"),
    ]]
}

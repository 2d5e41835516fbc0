//! The UI state (latest stats, sort, filter, toggles, selection, overlays, hidden alerts) and
//! what each input does to it; drawing only reads it.

use std::cmp::Ordering;

use jiff::tz::TimeZone;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use regex::Regex;
use serde_json::Value;

use super::input::{Input, Options};
use super::model::{self, Stats};

/// What the process list is sorted by (Glances' keys; `N` for PID is htop's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Cpu,
    Mem,
    Io,
    Name,
    Time,
    User,
    Pid,
}

impl SortKey {
    /// The name in the process list's summary line ("sorted by MEM").
    pub fn label(self) -> &'static str {
        match self {
            SortKey::Cpu => "CPU",
            SortKey::Mem => "MEM",
            SortKey::Io => "I/O rate",
            SortKey::Name => "name",
            SortKey::Time => "CPU time",
            SortKey::User => "user",
            SortKey::Pid => "PID",
        }
    }
}

/// The filter prompt being typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prompt {
    pub text: String,
    /// Why Enter did not apply the text (an invalid regex).
    pub error: Option<String>,
}

/// Which optional blocks are shown (Glances' toggle keys).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Show {
    pub network: bool,
    pub diskio: bool,
    pub fs: bool,
    pub sensors: bool,
    pub alerts: bool,
}

/// Finished alerts the user cleared (`w`, `x`). The server keeps its alerts, so the UI hides
/// those that ended at or before the latest end it had seen when the key was pressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertCut {
    /// Finished non-critical alerts ending up to here are hidden (`w`).
    pub warning_until: Option<i64>,
    /// Finished alerts of any state ending up to here are hidden (`x`).
    pub all_until: Option<i64>,
}

impl AlertCut {
    /// Whether an alert is cleared; ongoing ones never are (Glances' behaviour).
    pub fn hides(&self, alert: &Value) -> bool {
        let Some(end) = model::num(alert, "end") else {
            return false;
        };
        if end < 0.0 {
            return false;
        }
        let end = end as i64;
        let critical = model::text(alert, "state") == Some("CRITICAL");
        self.all_until.is_some_and(|until| end <= until)
            || (!critical && self.warning_until.is_some_and(|until| end <= until))
    }
}

/// All the UI's state.
#[derive(Debug)]
pub struct App {
    /// The latest stats; `None` until the first update.
    pub stats: Option<Stats>,
    /// Why the feed lost its server, until the next stats arrive.
    pub disconnected: Option<String>,
    /// `HOST:PORT` in client mode.
    pub source: Option<String>,
    /// `None` sorts automatically (Glances' `a`).
    pub sort: Option<SortKey>,
    /// Processes whose name or command line this matches are shown.
    pub filter: Option<Regex>,
    pub prompt: Option<Prompt>,
    pub show: Show,
    /// Per-CPU bars in the quick look (`1`).
    pub percpu: bool,
    /// Network rates in bits per second (`b`).
    pub bits: bool,
    pub help: bool,
    /// The WASM plugins panel (`P`).
    pub plugins_panel: bool,
    /// The highlighted row of the sorted, filtered process list; `None` until an arrow key.
    pub selected: Option<usize>,
    /// Process rows on screen, the PgUp/PgDn step (the event loop sets it after each draw).
    pub page: usize,
    pub alert_cut: AlertCut,
    /// The zone alert times are shown in.
    pub tz: TimeZone,
}

/// Page step before the first draw tells the real one: a 24-line screen shows about 10 rows.
const DEFAULT_PAGE: usize = 10;

impl App {
    pub fn new(options: Options) -> App {
        App {
            stats: None,
            disconnected: None,
            source: options.title_source,
            sort: None,
            filter: None,
            prompt: None,
            show: Show {
                network: true,
                diskio: true,
                fs: true,
                sensors: true,
                alerts: true,
            },
            percpu: false,
            bits: false,
            help: false,
            plugins_panel: false,
            selected: None,
            page: DEFAULT_PAGE,
            alert_cut: AlertCut::default(),
            tz: TimeZone::system(),
        }
    }

    /// Applies one input; `false` means quit.
    pub fn handle_input(&mut self, input: Input) -> bool {
        match input {
            Input::Stats(stats) => {
                self.stats = Some(*stats);
                self.disconnected = None;
                self.clamp_selection();
                true
            }
            Input::Disconnected(reason) => {
                self.disconnected = Some(reason);
                true
            }
            Input::Key(key) => self.handle_key(key),
            Input::Resize => true,
        }
    }

    /// Applies one key; `false` means quit.
    pub fn handle_key(&mut self, key: KeyEvent) -> bool {
        if key.kind == KeyEventKind::Release {
            return true;
        }
        if key.modifiers.contains(KeyModifiers::CONTROL) {
            // Raw mode delivers Ctrl-C as a key: it quits like `q`. Other chords mean nothing.
            return !matches!(key.code, KeyCode::Char('c' | 'C'));
        }
        if self.prompt.is_some() {
            self.prompt_key(key);
            return true;
        }
        match key.code {
            KeyCode::Char('q') => return false,
            KeyCode::Esc if self.help || self.plugins_panel => {
                self.help = false;
                self.plugins_panel = false;
            }
            KeyCode::Esc => return false,
            KeyCode::Char('h') => self.help = !self.help,
            KeyCode::Char('P') => self.plugins_panel = !self.plugins_panel,
            KeyCode::Char('a') => self.sort = None,
            KeyCode::Char('c') => self.sort = Some(SortKey::Cpu),
            KeyCode::Char('m') => self.sort = Some(SortKey::Mem),
            KeyCode::Char('i') => self.sort = Some(SortKey::Io),
            KeyCode::Char('p') => self.sort = Some(SortKey::Name),
            KeyCode::Char('t') => self.sort = Some(SortKey::Time),
            KeyCode::Char('u') => self.sort = Some(SortKey::User),
            KeyCode::Char('N') => self.sort = Some(SortKey::Pid),
            KeyCode::Char('/') | KeyCode::Enter => {
                let text = self.filter.as_ref().map(|re| re.as_str().to_string());
                self.prompt = Some(Prompt {
                    text: text.unwrap_or_default(),
                    error: None,
                });
            }
            KeyCode::Char('1') => self.percpu = !self.percpu,
            KeyCode::Char('b') => self.bits = !self.bits,
            KeyCode::Char('d') => self.show.diskio = !self.show.diskio,
            KeyCode::Char('n') => self.show.network = !self.show.network,
            KeyCode::Char('f') => self.show.fs = !self.show.fs,
            KeyCode::Char('s') => self.show.sensors = !self.show.sensors,
            KeyCode::Char('l') => self.show.alerts = !self.show.alerts,
            KeyCode::Char('w') => {
                self.alert_cut.warning_until = self.alert_cut.warning_until.max(self.last_end());
            }
            KeyCode::Char('x') => {
                self.alert_cut.all_until = self.alert_cut.all_until.max(self.last_end());
            }
            KeyCode::Up
            | KeyCode::Down
            | KeyCode::PageUp
            | KeyCode::PageDown
            | KeyCode::Home
            | KeyCode::End => self.move_selection(key.code),
            _ => {}
        }
        true
    }

    /// A key while the filter prompt is open: it edits the text, nothing else.
    fn prompt_key(&mut self, key: KeyEvent) {
        let Some(prompt) = self.prompt.as_mut() else {
            return;
        };
        match key.code {
            KeyCode::Char(c) => {
                prompt.text.push(c);
                prompt.error = None;
            }
            KeyCode::Backspace => {
                prompt.text.pop();
                prompt.error = None;
            }
            KeyCode::Esc => self.prompt = None,
            KeyCode::Enter => match compile_filter(&prompt.text) {
                Ok(filter) => {
                    self.filter = filter;
                    self.prompt = None;
                    self.clamp_selection();
                }
                Err(error) => prompt.error = Some(error),
            },
            _ => {}
        }
    }

    /// The sort in effect: the chosen one, or Glances' automatic choice.
    pub fn sort_key(&self) -> SortKey {
        self.sort.unwrap_or_else(|| self.auto_sort())
    }

    /// Glances sorts automatically by CPU, unless an alert is going on: then by what it is
    /// about (memory for MEM*, I/O for CPU_IOWAIT); the newest ongoing alert (listed first)
    /// decides.
    fn auto_sort(&self) -> SortKey {
        let Some(stats) = &self.stats else {
            return SortKey::Cpu;
        };
        let ongoing = stats.rows("alert").iter().find(|a| model::alert_ongoing(a));
        match ongoing.and_then(|a| model::text(a, "type")) {
            Some(kind) if kind.starts_with("MEM") => SortKey::Mem,
            Some("CPU_IOWAIT") => SortKey::Io,
            _ => SortKey::Cpu,
        }
    }

    /// The process rows to show, filtered and sorted, each with its index in the stats list
    /// (the index of its views).
    pub fn processes(&self) -> Vec<(usize, &Value)> {
        let Some(stats) = &self.stats else {
            return Vec::new();
        };
        let mut rows: Vec<(usize, &Value)> = stats
            .rows("processlist")
            .iter()
            .enumerate()
            .filter(|(_, process)| process.is_object() && self.matches(process))
            .collect();
        let key = self.sort_key();
        rows.sort_by(|a, b| compare(key, a.1, b.1));
        rows
    }

    fn matches(&self, process: &Value) -> bool {
        let Some(filter) = &self.filter else {
            return true;
        };
        model::text(process, "name").is_some_and(|name| filter.is_match(name))
            || filter.is_match(&model::command_line(process))
    }

    /// The alerts to show: the server's, less those the user cleared.
    pub fn alerts(&self) -> Vec<&Value> {
        let Some(stats) = &self.stats else {
            return Vec::new();
        };
        let rows = stats.rows("alert").iter();
        rows.filter(|alert| alert.is_object() && !self.alert_cut.hides(alert))
            .collect()
    }

    /// The latest end among the finished alerts (what `w` and `x` clear up to).
    fn last_end(&self) -> Option<i64> {
        let stats = self.stats.as_ref()?;
        stats
            .rows("alert")
            .iter()
            .filter_map(|alert| model::num(alert, "end"))
            .filter(|end| *end >= 0.0)
            .map(|end| end as i64)
            .max()
    }

    fn move_selection(&mut self, code: KeyCode) {
        let len = self.processes().len();
        let Some(last) = len.checked_sub(1) else {
            self.selected = None;
            return;
        };
        let page = self.page.max(1);
        let at = self.selected.map_or(0, |selected| selected.min(last));
        let next = match (code, self.selected) {
            // The first arrow shows the highlight on the top row.
            (KeyCode::Up | KeyCode::Down, None) => 0,
            (KeyCode::Up, Some(_)) => at.saturating_sub(1),
            (KeyCode::Down, Some(_)) => (at + 1).min(last),
            (KeyCode::PageUp, _) => at.saturating_sub(page),
            (KeyCode::PageDown, _) => (at + page).min(last),
            (KeyCode::Home, _) => 0,
            (KeyCode::End, _) => last,
            _ => at,
        };
        self.selected = Some(next);
    }

    /// Keeps the highlight on a row that exists after the list changed.
    fn clamp_selection(&mut self) {
        if let Some(selected) = self.selected {
            let len = self.processes().len();
            self.selected = len.checked_sub(1).map(|last| selected.min(last));
        }
    }
}

/// The prompt's text as a filter: empty clears it; an invalid regex says why, on one line.
fn compile_filter(text: &str) -> Result<Option<Regex>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    Regex::new(text).map(Some).map_err(|error| {
        // regex's message spans lines (pattern, caret, reason): the reason is the last one.
        let message = error.to_string();
        let reason = message
            .lines()
            .map(str::trim)
            .rev()
            .find(|line| !line.is_empty())
            .unwrap_or("unknown error");
        let reason = reason.strip_prefix("error: ").unwrap_or(reason);
        format!("invalid regex: {reason}")
    })
}

/// Orders two processes for `key`; ties (and missing values) fall back to the PID.
fn compare(key: SortKey, a: &Value, b: &Value) -> Ordering {
    let by = match key {
        SortKey::Cpu => descending(model::num(a, "cpu_percent"), model::num(b, "cpu_percent")),
        SortKey::Mem => descending(
            model::num(a, "memory_percent"),
            model::num(b, "memory_percent"),
        ),
        SortKey::Io => descending(io_total(a), io_total(b)),
        SortKey::Time => descending(model::cpu_seconds(a), model::cpu_seconds(b)),
        SortKey::Name => lowercase(model::text(a, "name")).cmp(&lowercase(model::text(b, "name"))),
        SortKey::User => model::text(a, "username").cmp(&model::text(b, "username")),
        SortKey::Pid => Ordering::Equal,
    };
    by.then_with(|| model::int(a, "pid").cmp(&model::int(b, "pid")))
}

/// Biggest first; a missing value sorts last.
fn descending(a: Option<f64>, b: Option<f64>) -> Ordering {
    let b = b.unwrap_or(f64::NEG_INFINITY);
    b.total_cmp(&a.unwrap_or(f64::NEG_INFINITY))
}

fn io_total(process: &Value) -> Option<f64> {
    model::io_rates(process).map(|(read, write)| read + write)
}

fn lowercase(text: Option<&str>) -> Option<String> {
    text.map(str::to_lowercase)
}

#[cfg(test)]
mod tests;

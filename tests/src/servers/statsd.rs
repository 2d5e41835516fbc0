//! Etsy's statsd (npm): metrics over UDP, read back through its admin TCP interface, whose
//! answers (Node's `util.inspect` text) are parsed here into JSON.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{Map, Value};

use super::{Process, create_dir, free_ports, npm_file, spawn_until_ready, write_file};

const STATSD: &str = "statsd (the npm package statsd, run with `node`: npm install --prefix \
                      target/npm statsd pouchdb-server)";

/// Etsy's statsd (npm `statsd`, `node stats.js CONFIG`) listening for UDP on
/// 127.0.0.1:`port`, its admin TCP interface on 127.0.0.1:`mgmt_port`, the console backend
/// only, flushing once an hour (so counters are not reset under the test), every received line
/// logged (`dumpMessages`). Read back with [`Statsd::gauges`], [`Statsd::counters`],
/// [`Statsd::timers`] (the admin commands) or [`Statsd::messages`] (the raw lines).
///
/// Naming: the bucket name as sent, sanitized (`keyNameSanitize`): spaces → `_`, `/` → `-`,
/// other characters outside `[A-Za-z0-9_.\-;=]` dropped. Gauges `name:v|g` keep the last value
/// (`+v`/`-v` add); counters `name:v|c` add up; statsd adds its own `statsd.*` counters.
pub struct Statsd {
    pub process: Process,
    /// UDP.
    pub port: u16,
    /// TCP admin interface.
    pub mgmt_port: u16,
}

impl Statsd {
    pub fn start(dir: &Path) -> Statsd {
        create_dir(STATSD, dir);
        let script = npm_file(STATSD, &["statsd", "stats.js"]);
        let (process, (port, mgmt_port)) = spawn_until_ready(
            STATSD,
            || {
                let ports = free_ports(2);
                let (port, mgmt_port) = (ports[0], ports[1]);
                let config = dir.join(format!("statsd-{port}.js"));
                write_file(
                    STATSD,
                    &config,
                    &format!(
                        "{{\n  address: \"127.0.0.1\",\n  port: {port},\n  \
                         mgmt_address: \"127.0.0.1\",\n  mgmt_port: {mgmt_port},\n  \
                         backends: [\"./backends/console\"],\n  \
                         console: {{ prettyprint: false }},\n  flushInterval: 3600000,\n  \
                         dumpMessages: true,\n  automaticConfigReload: false,\n  title: false\n}}\n"
                    ),
                );
                let log = dir.join(format!("statsd-{port}.log"));
                let mut cmd = Command::new("node");
                cmd.arg(&script).arg(&config).current_dir(dir);
                (Process::spawn(STATSD, cmd, &log), (port, mgmt_port))
            },
            |s: &(u16, u16)| {
                statsd_admin(s.1, "health", Duration::from_secs(2))
                    .is_ok_and(|a| a.contains("health: up"))
            },
        );
        Statsd {
            process,
            port,
            mgmt_port,
        }
    }

    /// One admin command (`health`, `stats`, `counters`, `gauges`, `timers`, ...): its answer
    /// as text, without the closing `END`.
    pub fn admin(&self, command: &str) -> String {
        statsd_admin(self.mgmt_port, command, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("{STATSD}: admin `{command}`: {e}"))
    }

    /// The current gauges, `{"name": value}`.
    pub fn gauges(&self) -> Map<String, Value> {
        self.inspected("gauges")
    }

    /// The counters since start (`statsd.*` ones included), `{"name": value}`.
    pub fn counters(&self) -> Map<String, Value> {
        self.inspected("counters")
    }

    /// The timers, `{"name": [values...]}`.
    pub fn timers(&self) -> Map<String, Value> {
        self.inspected("timers")
    }

    fn inspected(&self, command: &str) -> Map<String, Value> {
        let text = self.admin(command);
        match parse_inspect(&text) {
            Ok(Value::Object(map)) => map,
            Ok(other) => panic!("{STATSD}: admin `{command}` gave no object: {other}"),
            Err(e) => panic!("{STATSD}: admin `{command}`: cannot read {text:?}: {e}"),
        }
    }

    /// Every metric line received so far, as sent (`name:value|type[|@rate]`), in order (bad
    /// lines included; statsd counts them in `statsd.bad_lines_seen`).
    pub fn messages(&self) -> Vec<String> {
        self.process
            .log_text()
            .lines()
            .filter_map(|l| l.split_once(" - DEBUG: ").map(|(_, m)| m))
            .filter(|m| !m.starts_with("Bad line: "))
            .map(str::to_string)
            .collect()
    }
}

/// Sends one admin command to statsd and reads the answer: up to `END` for the listing
/// commands, one line for the others.
fn statsd_admin(port: u16, command: &str, timeout: Duration) -> Result<String, String> {
    let mut stream = TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), timeout)
        .map_err(|e| format!("connect to 127.0.0.1:{port}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(format!("{command}\n").as_bytes())
        .map_err(|e| format!("send: {e}"))?;
    let listing = matches!(
        command.split_whitespace().next(),
        Some("stats" | "counters" | "gauges" | "timers")
    );
    let mut answer = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        let n = stream
            .read(&mut buf)
            .map_err(|e| format!("read (so far {:?}): {e}", String::from_utf8_lossy(&answer)))?;
        if n == 0 {
            break;
        }
        answer.extend_from_slice(buf.get(..n).unwrap_or_default());
        let text = String::from_utf8_lossy(&answer);
        if listing {
            if text.ends_with("END\n\n") {
                break;
            }
        } else if text.ends_with('\n') {
            break;
        }
    }
    let _ = stream.write_all(b"quit\n");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let text = text
        .strip_suffix("END\n\n")
        .unwrap_or(&text)
        .trim_end()
        .to_string();
    Ok(text)
}

/// Reads what Node's `util.inspect` prints for plain objects, arrays, strings and numbers
/// (statsd's admin answers: `{ 'a.b': 12.5, c: 3, t: [ 1, 2 ] }`, over several lines when
/// long, `... N more items` in long arrays) into JSON. `NaN`/`Infinity` become null.
fn parse_inspect(text: &str) -> Result<Value, String> {
    let mut parser = Inspect {
        chars: text.chars().collect(),
        at: 0,
    };
    let value = parser.value()?;
    if parser.peek().is_some() {
        return Err(parser.error("the end"));
    }
    Ok(value)
}

struct Inspect {
    chars: Vec<char>,
    at: usize,
}

impl Inspect {
    fn peek(&mut self) -> Option<char> {
        while self.chars.get(self.at).is_some_and(|c| c.is_whitespace()) {
            self.at += 1;
        }
        self.chars.get(self.at).copied()
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn error(&self, expected: &str) -> String {
        let rest: String = self.chars.iter().skip(self.at).take(40).collect();
        format!("expected {expected} at character {}: {rest:?}", self.at)
    }

    /// A bare word: a key, a number, `true`, `undefined`, ...
    fn word(&mut self) -> String {
        let _ = self.peek();
        let mut word = String::new();
        while let Some(&c) = self.chars.get(self.at) {
            if c.is_whitespace() || ",:{}[]".contains(c) {
                break;
            }
            word.push(c);
            self.at += 1;
        }
        word
    }

    fn string(&mut self) -> Result<String, String> {
        let Some(quote) = self.peek() else {
            return Err(self.error("a string"));
        };
        self.at += 1;
        let mut text = String::new();
        loop {
            let Some(&c) = self.chars.get(self.at) else {
                return Err(self.error("the end of a string"));
            };
            self.at += 1;
            if c == quote {
                return Ok(text);
            }
            if c == '\\' {
                let Some(&escaped) = self.chars.get(self.at) else {
                    return Err(self.error("an escaped character"));
                };
                self.at += 1;
                text.push(match escaped {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    other => other,
                });
            } else {
                text.push(c);
            }
        }
    }

    fn key(&mut self) -> Result<String, String> {
        match self.peek() {
            Some('\'' | '"' | '`') => self.string(),
            Some(_) => {
                let word = self.word();
                if word.is_empty() {
                    Err(self.error("a key"))
                } else {
                    Ok(word)
                }
            }
            None => Err(self.error("a key")),
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        match self.peek() {
            Some('{') => {
                self.at += 1;
                let mut map = Map::new();
                if self.eat('}') {
                    return Ok(Value::Object(map));
                }
                loop {
                    let key = self.key()?;
                    if !self.eat(':') {
                        return Err(self.error("':'"));
                    }
                    let value = self.value()?;
                    map.insert(key, value);
                    if self.eat(',') {
                        continue;
                    }
                    if self.eat('}') {
                        return Ok(Value::Object(map));
                    }
                    return Err(self.error("',' or '}'"));
                }
            }
            Some('[') => {
                self.at += 1;
                let mut list = Vec::new();
                if self.eat(']') {
                    return Ok(Value::Array(list));
                }
                loop {
                    if self.peek() == Some('.') {
                        // "... 12 more items": skip to the next ',' or ']'.
                        while let Some(&c) = self.chars.get(self.at) {
                            if c == ',' || c == ']' {
                                break;
                            }
                            self.at += 1;
                        }
                    } else {
                        list.push(self.value()?);
                    }
                    if self.eat(',') {
                        continue;
                    }
                    if self.eat(']') {
                        return Ok(Value::Array(list));
                    }
                    return Err(self.error("',' or ']'"));
                }
            }
            Some('\'' | '"' | '`') => self.string().map(Value::String),
            Some(_) => {
                let word = self.word();
                match word.as_str() {
                    "" => Err(self.error("a value")),
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    "null" | "undefined" | "NaN" | "Infinity" | "-Infinity" => Ok(Value::Null),
                    _ => {
                        if let Ok(n) = word.parse::<i64>() {
                            Ok(Value::from(n))
                        } else if let Ok(x) = word.parse::<f64>() {
                            Ok(serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number))
                        } else {
                            Err(format!("not a number: {word:?}"))
                        }
                    }
                }
            }
            None => Err(self.error("a value")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_util_inspect() {
        let text = "{\n  'statsd.bad_lines_seen': 1,\n  'glint.cpu.total': 12.5,\n  plain: -3,\n  \
                    'it\\'s': NaN\n}";
        let v = parse_inspect(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v["statsd.bad_lines_seen"], 1);
        assert_eq!(v["glint.cpu.total"], 12.5);
        assert_eq!(v["plain"], -3);
        assert_eq!(v["it's"], Value::Null);
        let timers = parse_inspect("{ 'glint.t': [ 12, 13.5, ... 98 more items ] }")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(timers["glint.t"], serde_json::json!([12, 13.5]));
        assert_eq!(
            parse_inspect("{}").unwrap_or_else(|e| panic!("{e}")),
            serde_json::json!({})
        );
    }
}

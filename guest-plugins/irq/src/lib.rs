//! irq: interrupts per IRQ line since the previous tick and their rates, from
//! /proc/interrupts (Glances' `irq` plugin).

use glint_sdk::counter;
use glint_sdk::prelude::*;

#[derive(Default)]
struct Irq {
    rates: Rates,
}

impl InputPlugin for Irq {
    fn info() -> PluginInfo {
        plugin("irq", "Interrupts per IRQ line", Layout::List)
            .field(field(
                "irq_line",
                Unit::Text,
                "IRQ line as Glances names it: the number followed by the last device name \
                 (`1_i8042`), or the name of a named line (`LOC`, `NMI`).",
            ))
            .field(field(
                "description",
                Unit::Text,
                "Interrupt controller, trigger and devices, as /proc/interrupts lists them.",
            ))
            .field(field(
                "time_since_update",
                Unit::Seconds,
                "Seconds since the previous update.",
            ))
            .field(
                field(
                    "irq",
                    Unit::Number,
                    "Interrupts on this line, all CPUs together.",
                )
                .rate(),
            )
            .field(field(
                "irq_rate",
                Unit::Number,
                "Interrupts since the previous update (Glances' irq_rate; none on the first).",
            ))
    }

    fn update(&mut self, tick: &Tick) -> Result<Table, String> {
        let mut rows = Rows::new(Some("irq_line"));
        for irq in readings::get_irqs() {
            let line = irq_line(&irq.name, &irq.description);
            let mut row = Row::new()
                .set("irq_line", line.as_str())
                .set("description", irq.description);
            self.rates
                .push(&mut row, &line, tick, &[counter!("irq", irq.count)]);
            let delta = row.get("irq").cloned().unwrap_or(Value::None);
            row.push("irq_rate", delta);
            rows.push(row);
        }
        Ok(rows.into_table())
    }
}

/// Glances' name of an IRQ line: a numbered line gets `_` and the last word of its
/// description (the device), a named line (`LOC`, `NMI`) keeps its name.
fn irq_line(name: &str, description: &str) -> String {
    let is_number = !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit());
    match description.split_whitespace().next_back() {
        Some(device) if is_number => format!("{name}_{device}"),
        _ => name.to_string(),
    }
}

glint_sdk::export_input!(Irq);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbered_lines_take_the_device_name() {
        assert_eq!(irq_line("1", "IO-APIC   1-edge      i8042"), "1_i8042");
        assert_eq!(irq_line("0", "IO-APIC 2-edge timer"), "0_timer");
    }

    #[test]
    fn named_lines_keep_their_name() {
        assert_eq!(irq_line("LOC", "Local timer interrupts"), "LOC");
        assert_eq!(irq_line("NMI", "Non-maskable interrupts"), "NMI");
    }

    #[test]
    fn numbered_line_without_description_keeps_its_number() {
        assert_eq!(irq_line("9", ""), "9");
    }
}

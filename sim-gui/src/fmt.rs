//! Text for people: times and durations as the engine prints them.

/// A time in nanoseconds as `12.345s` / `250ms` / `1.5us`, as `sim_core::SimTime` shows it.
pub fn time(ns: u64) -> String {
    sim_core::SimTime(ns).to_string()
}

/// A time with a fixed number of millisecond decimals, for axes and the cursor (`12.345 s`).
pub fn seconds(ns: u64) -> String {
    format!("{:.3} s", ns as f64 / 1e9)
}

/// Parses a time typed by a person: `12.5s`, `300ms`, `12` (seconds).
pub fn parse_time(text: &str) -> Option<u64> {
    let t = text.trim();
    if let Ok(secs) = t.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| (secs * 1e9).round() as u64);
    }
    sim_core::units::parse_duration(t).ok().map(|d| d.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_and_print() {
        assert_eq!(parse_time("1.5"), Some(1_500_000_000));
        assert_eq!(parse_time("250ms"), Some(250_000_000));
        assert_eq!(parse_time("soon"), None);
        assert_eq!(parse_time("-1"), None);
        assert_eq!(seconds(1_234_000_000), "1.234 s");
        assert_eq!(time(250_000_000), "250ms");
    }
}

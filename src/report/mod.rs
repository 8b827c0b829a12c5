//! Reading the suite's output back: Criterion's results ([`criterion`]) and where their run was
//! made ([`run`], recorded by the benches), rendered into one report ([`render`], through
//! `report-templates/`), a run kept with the code for the README's findings ([`snapshot`]), and
//! two runs judged against each other ([`compare`]) so a branch's regressions are found by a
//! command, not by eye; and `servebench load`'s runs as files and tables ([`load`]).

pub mod chart;
pub mod compare;
pub mod compute_floor;
pub mod criterion;
pub mod instructions;
pub mod link;
pub mod load;
pub mod render;
pub mod run;
pub mod side_by_side;
pub mod snapshot;
pub mod templates;

use std::time::SystemTime;

use self::criterion::Measurement;

/// The span of the measurements' write times, as UTC dates.
fn written_span<'a>(measurements: impl IntoIterator<Item = &'a Measurement>) -> String {
    let times: Vec<SystemTime> = measurements.into_iter().filter_map(|m| m.written).collect();
    match (times.iter().min(), times.iter().max()) {
        (Some(first), Some(last)) => format!("{} to {}", utc_minute(*first), utc_minute(*last)),
        _ => "no results".to_owned(),
    }
}

/// A time as `YYYY-MM-DD HH:MM UTC`.
fn utc_minute(time: SystemTime) -> String {
    let time = time::OffsetDateTime::from(time);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        time.year(),
        u8::from(time.month()),
        time.day(),
        time.hour(),
        time.minute()
    )
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn times_are_civil_utc() {
        let at = |seconds| super::utc_minute(UNIX_EPOCH + Duration::from_secs(seconds));
        assert_eq!(at(0), "1970-01-01 00:00 UTC");
        assert_eq!(at(20_782 * 86_400 + 16 * 3600 + 46 * 60 + 59), "2026-11-25 16:46 UTC");
        assert_eq!(at(11_016 * 86_400), "2000-02-29 00:00 UTC");
    }
}

//! Reading the suite's output back: Criterion's results ([`criterion`]) and where their run was
//! made ([`run`], recorded by the benches), rendered into one report ([`render`], through
//! `report-templates/`), and judged between two runs ([`judge`], driven by [`compare`]) so a
//! branch's regressions are found by a command, not by eye.

pub mod chart;
pub mod compare;
pub mod criterion;
pub mod judge;
pub mod render;
pub mod run;
pub mod templates;

use std::time::{SystemTime, UNIX_EPOCH};

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
    let seconds = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02} UTC", rest / 3600, rest % 3600 / 60)
}

/// Days since 1970-01-01 to a (year, month, day) date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_civil() {
        assert_eq!(super::civil_from_days(0), (1970, 1, 1));
        assert_eq!(super::civil_from_days(20_782), (2026, 11, 25));
        assert_eq!(super::civil_from_days(11_016), (2000, 2, 29));
    }
}

//! Test-only: a planted slowdown, so that `servebench compare`'s ability to catch a regression is
//! itself tested. With `SERVEBENCH_PLANT_SLOWDOWN=base64_encode`, [`codec::base64::encode`]
//! does 10% more work (`base64_encode:25`, 25%): it and every id that encodes base64 through it
//! (JSON's `bytes` fields) slow down; nothing else changes. Never set it outside such a check.
//!
//! [`codec::base64::encode`]: crate::codec::base64::encode

use std::sync::OnceLock;

/// The variable naming the stage to slow down, and optionally by how much: `STAGE[:PERCENT]`.
pub const ENV: &str = "SERVEBENCH_PLANT_SLOWDOWN";

/// The stages a slowdown can be planted in.
pub const STAGES: [&str; 1] = ["base64_encode"];

/// The extra work planted when [`ENV`] names no percentage.
pub const DEFAULT_PERCENT: u32 = 10;

/// The percentage of extra work planted in `stage`, if any ([`ENV`] is read once per process).
///
/// # Panics
/// When [`ENV`] is set to something other than a known stage and an optional percentage from 1
/// to 100: a check that planted nothing must not pass for one that caught it.
pub fn slowdown(stage: &str) -> Option<u32> {
    static PLANTED: OnceLock<Option<(String, u32)>> = OnceLock::new();
    let planted = PLANTED.get_or_init(|| {
        let value = std::env::var(ENV).ok()?;
        Some(parse(&value).unwrap_or_else(|| {
            panic!("{ENV}={value}: expected STAGE[:PERCENT], STAGE one of {STAGES:?}")
        }))
    });
    planted.as_ref().filter(|(planted, _)| planted == stage).map(|&(_, percent)| percent)
}

/// `STAGE[:PERCENT]` as a known stage and a percentage from 1 to 100.
fn parse(value: &str) -> Option<(String, u32)> {
    let (stage, percent) = match value.split_once(':') {
        Some((stage, percent)) => (stage, percent.parse().ok()?),
        None => (value, DEFAULT_PERCENT),
    };
    (STAGES.contains(&stage) && (1..=100).contains(&percent)).then(|| (stage.to_owned(), percent))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stage_alone_plants_ten_percent_and_a_percentage_is_read() {
        assert_eq!(parse("base64_encode"), Some(("base64_encode".to_owned(), 10)));
        assert_eq!(parse("base64_encode:25"), Some(("base64_encode".to_owned(), 25)));
        for wrong in [
            "base64",
            "base64_encode:101",
            "base64_encode:",
            "base64_encode:0",
            "base64_encode:x",
            "",
        ] {
            assert_eq!(parse(wrong), None, "{wrong}");
        }
    }
}

//! Test-only: a planted slowdown, so that `servebench compare`'s ability to catch a regression is
//! itself tested. With `SERVEBENCH_PLANT_SLOWDOWN=base64_encode`, [`codec::base64::encode`]
//! does 10% more work: it and every id that encodes base64 through it (JSON's `bytes` fields) slow
//! down; nothing else changes. Never set it outside that check.
//!
//! [`codec::base64::encode`]: crate::codec::base64::encode

use std::sync::OnceLock;

/// The variable naming the stage to slow down.
pub const ENV: &str = "SERVEBENCH_PLANT_SLOWDOWN";

/// The stages a slowdown can be planted in.
pub const STAGES: [&str; 1] = ["base64_encode"];

/// Whether a slowdown is planted in `stage` (read once per process).
pub fn slowdown(stage: &str) -> bool {
    static PLANTED: OnceLock<Option<String>> = OnceLock::new();
    PLANTED.get_or_init(|| std::env::var(ENV).ok()).as_deref() == Some(stage)
}

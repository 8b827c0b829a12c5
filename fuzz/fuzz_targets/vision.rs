//! The vision stage on untrusted bytes: JPEG (libjpeg) or PNG decoded, whole and at a fraction
//! of its size, then resized, cropped and normalized; a corrupt or hostile image must be an
//! error, never a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench::vision::{self, DecodeMode};

fuzz_target!(|image: &[u8]| {
    let side = vision::CROP as usize;
    let exact = vision::preprocess_with(image, DecodeMode::Exact);
    let scaled = vision::preprocess_with(image, DecodeMode::Scaled);
    for prepared in [&exact, &scaled].into_iter().flatten() {
        assert_eq!(prepared.data.len(), 3 * side * side);
    }
});

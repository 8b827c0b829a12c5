//! The vision stage on untrusted bytes: JPEG (libjpeg) or PNG decoded, then resized, cropped
//! and normalized; a corrupt or hostile image must be an error, never a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench::vision;

fuzz_target!(|image: &[u8]| {
    if let Ok(prepared) = vision::preprocess(image) {
        let side = vision::CROP as usize;
        assert_eq!(prepared.data.len(), 3 * side * side);
    }
});

//! base64 text: what decodes must encode back to the same text (standard, padded, canonical).
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench::codec::base64;

fuzz_target!(|text: &[u8]| {
    if let Ok(decoded) = base64::decode(text) {
        assert_eq!(
            base64::encode(&decoded).as_bytes(),
            text,
            "decode then encode changed the text"
        );
    }
});

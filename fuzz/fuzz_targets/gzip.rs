//! gzip bodies (REST's `Content-Encoding: gzip`), inflated under a limit: never past it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench::codec::gzip;

const LIMIT: usize = 1 << 20;

fuzz_target!(|body: &[u8]| {
    if let Ok(inflated) = gzip::decode(body, LIMIT) {
        assert!(inflated.len() <= LIMIT);
    }
});

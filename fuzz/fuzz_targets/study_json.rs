//! The study's REST bodies (`/basic`, `/base64`): JSON into its messages, then base64.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench::codec::{base64, json};
use servebench::messages::{BasicRequest, ImageBase64Request};

fuzz_target!(|body: &[u8]| {
    let _ = json::decode::<BasicRequest>(body);
    if let Ok(request) = json::decode::<ImageBase64Request>(body) {
        let _ = base64::decode(request.image.as_bytes());
    }
});

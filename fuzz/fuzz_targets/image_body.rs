//! The model server's REST body kinds: a form, base64 JSON or raw bytes, by the Content-Type in
//! the first line; the rest is the body.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use servebench::codec::image_body;

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = servebench_fuzz::header_and_body(data);
    let _ = image_body::decode(&content_type, Bytes::copy_from_slice(body));
});

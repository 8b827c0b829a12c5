//! `multipart/form-data` bodies: the first line is the Content-Type header's value (its
//! boundary), the rest the body.
#![no_main]

use bytes::Bytes;
use libfuzzer_sys::fuzz_target;
use servebench::codec::multipart;

fuzz_target!(|data: &[u8]| {
    let (content_type, body) = servebench_fuzz::header_and_body(data);
    let _ = multipart::decode(&content_type, &Bytes::copy_from_slice(body));
});

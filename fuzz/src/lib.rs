//! What the fuzz targets share.

/// Splits fuzz input at its first newline: a header's value (lossy UTF-8) and a body.
pub fn header_and_body(data: &[u8]) -> (String, &[u8]) {
    let split = data.iter().position(|&byte| byte == b'\n').unwrap_or(data.len());
    let body = data.get(split + 1..).unwrap_or_default();
    (String::from_utf8_lossy(&data[..split]).into_owned(), body)
}

//! `multipart/form-data` (RFC 7578): how browsers, `curl -F` and Python's `requests(files=...)`
//! send a file, and the third way TorchServe's REST API takes an image (the form field `data`).
//!
//! [`decode`] slices parts out of the body without copying; [`encode`] copies the file into a
//! new body, as every client does, which is that framing's cost.

use bytes::{BufMut, Bytes, BytesMut};
use memchr::memmem;

use super::CodecError;

/// One field of a form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Part {
    /// The field's name (`Content-Disposition: form-data; name="..."`), if it has one.
    pub name: Option<String>,
    /// The field's content: a slice of the body.
    pub data: Bytes,
}

/// An encoded form: the `Content-Type` header that names its boundary, and the body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Form {
    /// `multipart/form-data; boundary=...`.
    pub content_type: String,
    /// The framed body.
    pub body: Bytes,
}

/// A form with one file field `name` holding `data`, named `file_name` and typed `media_type`.
pub fn encode(name: &str, file_name: &str, media_type: &str, data: &[u8]) -> Form {
    // The boundary must not occur in the data; lengthen it until it does not.
    let mut boundary = String::from("servebench-form-boundary-7MA4YWxkTrZu0gW");
    while memmem::find(data, boundary.as_bytes()).is_some() {
        boundary.push('x');
    }
    let head = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; \
         filename=\"{file_name}\"\r\nContent-Type: {media_type}\r\n\r\n"
    );
    let tail = format!("\r\n--{boundary}--\r\n");
    let mut body = BytesMut::with_capacity(head.len() + data.len() + tail.len());
    body.put_slice(head.as_bytes());
    body.put_slice(data);
    body.put_slice(tail.as_bytes());
    Form { content_type: format!("multipart/form-data; boundary={boundary}"), body: body.freeze() }
}

/// The parts of a `multipart/form-data` body whose `Content-Type` header is `content_type`.
pub fn decode(content_type: &str, body: &Bytes) -> Result<Vec<Part>, CodecError> {
    let boundary = boundary(content_type)?;
    let delimiter = [b"\r\n--", boundary.as_bytes()].concat();
    // The first boundary may open the body, without the CRLF that precedes later ones.
    let mut position = if body.starts_with(&delimiter[2..]) {
        delimiter.len() - 2
    } else {
        memmem::find(body, &delimiter).ok_or_else(|| malformed("no boundary in the body"))?
            + delimiter.len()
    };
    let mut parts = Vec::new();
    loop {
        let rest = &body[position..];
        if rest.starts_with(b"--") {
            return Ok(parts);
        }
        // Transport padding may follow a boundary before its line ends.
        let line_end = memmem::find(rest, b"\r\n").ok_or_else(|| malformed("truncated body"))?;
        if rest[..line_end].iter().any(|byte| !matches!(byte, b' ' | b'\t')) {
            return Err(malformed("a boundary is followed by other text"));
        }
        let headers_start = position + line_end + 2;
        let (headers, content_start) = if body[headers_start..].starts_with(b"\r\n") {
            ("", headers_start + 2)
        } else {
            let end = memmem::find(&body[headers_start..], b"\r\n\r\n")
                .ok_or_else(|| malformed("a part's headers do not end"))?;
            let headers = std::str::from_utf8(&body[headers_start..headers_start + end])
                .map_err(|_| malformed("a part's headers are not UTF-8"))?;
            (headers, headers_start + end + 4)
        };
        let content_end = content_start
            + memmem::find(&body[content_start..], &delimiter)
                .ok_or_else(|| malformed("a part is not closed by a boundary"))?;
        parts
            .push(Part { name: field_name(headers), data: body.slice(content_start..content_end) });
        position = content_end + delimiter.len();
    }
}

fn malformed(reason: &str) -> CodecError {
    CodecError::Multipart(reason.to_owned())
}

/// The `boundary` parameter of a `multipart/form-data` content type.
fn boundary(content_type: &str) -> Result<&str, CodecError> {
    let mut parameters = content_type.split(';').map(str::trim);
    let media_type = parameters.next().unwrap_or_default();
    if !media_type.eq_ignore_ascii_case("multipart/form-data") {
        return Err(malformed("the content type is not multipart/form-data"));
    }
    let boundary = parameters
        .filter_map(|parameter| parameter.split_once('='))
        .find(|(key, _)| key.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, value)| value.trim().trim_matches('"'))
        .ok_or_else(|| malformed("the content type names no boundary"))?;
    // RFC 2046: 1 to 70 characters.
    if boundary.is_empty() || boundary.len() > 70 {
        return Err(malformed("the boundary is not 1 to 70 characters long"));
    }
    Ok(boundary)
}

/// The `name` parameter of a part's `Content-Disposition: form-data` header.
fn field_name(headers: &str) -> Option<String> {
    let disposition = headers.split("\r\n").find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.trim().eq_ignore_ascii_case("content-disposition").then_some(value)
    })?;
    disposition.split(';').map(str::trim).find_map(|parameter| {
        let (key, value) = parameter.split_once('=')?;
        key.trim().eq_ignore_ascii_case("name").then(|| value.trim().trim_matches('"').to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_curl_sends() {
        let body = Bytes::from_static(
            b"--------------------------d74496d66958873e\r\n\
              Content-Disposition: form-data; name=\"note\"\r\n\r\n\
              hello\r\n\
              --------------------------d74496d66958873e\r\n\
              Content-Disposition: form-data; name=\"data\"; filename=\"kitten.jpg\"\r\n\
              Content-Type: image/jpeg\r\n\r\n\
              \xff\xd8\r\n--not-the-boundary\xff\xd9\r\n\
              --------------------------d74496d66958873e--\r\n",
        );
        let content_type = "multipart/form-data; boundary=------------------------d74496d66958873e";
        let parts = decode(content_type, &body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].name.as_deref(), Some("note"));
        assert_eq!(&parts[0].data[..], b"hello");
        assert_eq!(parts[1].name.as_deref(), Some("data"));
        assert_eq!(&parts[1].data[..], b"\xff\xd8\r\n--not-the-boundary\xff\xd9");
    }

    #[test]
    fn refuses_what_is_not_a_form() {
        let body = Bytes::from_static(b"--b\r\nContent-Disposition: form-data; name=\"data\"\r\n");
        for content_type in
            ["image/jpeg", "multipart/form-data", "multipart/form-data; boundary=\"\""]
        {
            assert!(decode(content_type, &body).is_err(), "{content_type}");
        }
        assert!(decode("multipart/form-data; boundary=b", &body).is_err(), "unterminated");
        assert!(decode("multipart/form-data; boundary=zz", &body).is_err(), "wrong boundary");
    }
}

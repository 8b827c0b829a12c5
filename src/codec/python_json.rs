//! JSON as Python's `json.dumps(value, indent=2)` writes it: how TorchServe's Python backend
//! serializes a handler's answer, so how a client of a real TorchServe sees the top-5 object.
//!
//! Three things set it apart from serde_json's pretty printer, each byte for byte:
//! - floats are Python's `repr`: the shortest digits that round-trip, positional from `1e-4` up
//!   to `1e16` (`0.0001`, `123.0`), scientific outside it (`1e-05`, `2.5e+16`);
//! - `ensure_ascii`: every character outside printable ASCII is a `\uXXXX` escape (a UTF-16
//!   surrogate pair above U+FFFF), DEL included;
//! - `indent=2` with `": "` between key and value, as serde_json's pretty printer also does.
//!
//! One deliberate difference: a NaN or infinite float is `null` (serde_json's rule), where
//! Python writes `NaN` or `Infinity`, which no JSON parser has to accept.

use std::io::{self, Write};

use bytes::Bytes;
use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, PrettyFormatter};

use super::CodecError;

/// Serializes a message as `json.dumps(message, indent=2)` would.
pub fn encode<M: Serialize>(message: &M) -> Result<Bytes, CodecError> {
    let mut out = Vec::with_capacity(128);
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, PythonFormatter::new());
    message.serialize(&mut serializer)?;
    Ok(out.into())
}

/// Python's `repr(x)` of a float, which is what `json.dumps` writes for a finite one.
pub fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    // Rust's `{:e}` finds how many digits the shortest round-trip string needs, as Python's
    // repr does. Where two such strings are equally near the value, Rust's shortest search may
    // take either; Python takes the even one, as Rust's fixed-precision formatting of the exact
    // value does. So: count with the first, write with the second (`-1.2345e-5`), unless the
    // second does not read back: at a power of two the doubles below are closer together than
    // those above, and the nearest string with that many digits can fall to the one below
    // (2^-24 is 5.9604644775390625e-08; ...062e-08 reads back as its neighbour, ...063e-08 is
    // what Python writes).
    let shortest = format!("{x:e}");
    let significant = shortest.bytes().take_while(|b| *b != b'e').filter(u8::is_ascii_digit);
    let nearest = format!("{x:.*e}", significant.count() - 1);
    let scientific = if nearest.parse::<f64>() == Ok(x) { nearest } else { shortest };
    let (mantissa, exponent) = scientific.split_once('e').expect("`{:e}` always has an exponent");
    let exponent: i32 = exponent.parse().expect("`{:e}` writes a decimal exponent");
    let (sign, mantissa) = mantissa.strip_prefix('-').map_or(("", mantissa), |m| ("-", m));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if (-4..16).contains(&exponent) {
        let point = exponent + 1; // digits before the decimal point
        let count = digits.len() as i32;
        let number = if point <= 0 {
            format!("0.{}{digits}", "0".repeat(point.unsigned_abs() as usize))
        } else if point < count {
            format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
        } else {
            format!("{digits}{}.0", "0".repeat((point - count) as usize))
        };
        format!("{sign}{number}")
    } else {
        let exponent_sign = if exponent < 0 { '-' } else { '+' };
        format!("{sign}{mantissa}e{exponent_sign}{:02}", exponent.unsigned_abs())
    }
}

/// serde_json's pretty printer (two spaces) with Python's floats and `ensure_ascii`.
struct PythonFormatter(PrettyFormatter<'static>);

impl PythonFormatter {
    fn new() -> Self {
        Self(PrettyFormatter::with_indent(b"  "))
    }
}

impl Formatter for PythonFormatter {
    fn write_f32<W: ?Sized + Write>(&mut self, writer: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(writer, f64::from(value))
    }

    fn write_f64<W: ?Sized + Write>(&mut self, writer: &mut W, value: f64) -> io::Result<()> {
        writer.write_all(float_repr(value).as_bytes())
    }

    /// serde_json escapes `"`, `\` and control characters as Python does; the rest of what
    /// Python escapes (DEL and everything past ASCII) arrives here.
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut plain = 0;
        for (at, c) in fragment.char_indices() {
            if (' '..='~').contains(&c) {
                continue;
            }
            writer.write_all(&fragment.as_bytes()[plain..at])?;
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                write!(writer, "\\u{unit:04x}")?;
            }
            plain = at + c.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[plain..])
    }

    fn write_char_escape<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        char_escape: CharEscape,
    ) -> io::Result<()> {
        self.0.write_char_escape(writer, char_escape)
    }

    fn begin_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_array(writer)
    }

    fn end_array<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array(writer)
    }

    fn begin_array_value<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(writer, first)
    }

    fn end_array_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_array_value(writer)
    }

    fn begin_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object(writer)
    }

    fn end_object<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object(writer)
    }

    fn begin_object_key<W: ?Sized + Write>(
        &mut self,
        writer: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(writer, first)
    }

    fn begin_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.begin_object_value(writer)
    }

    fn end_object_value<W: ?Sized + Write>(&mut self, writer: &mut W) -> io::Result<()> {
        self.0.end_object_value(writer)
    }
}

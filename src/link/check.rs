//! Is the link what it claims? Before anything is measured over an emulated link, a bulk TCP
//! transfer and a round trip are timed over it, from the client's namespace to a listener in
//! the server's, with no protocol but a tag byte: the rate must come within
//! [`RATE_TOLERANCE`] of the profile's, and the round trip within [`RTT_TOLERANCE`] (or
//! [`RTT_SLACK`]) of its delay. The report prints both beside the link's results.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::{Emulated, Link, LinkError};

/// How far the measured rate may be from the configured one, as a fraction of it. TCP's
/// goodput over Ethernet framing is 1448 / 1514 of the line rate (96%), which is inside it.
pub const RATE_TOLERANCE: f64 = 0.10;
/// How far the measured round trip may be from the configured one, as a fraction of it...
pub const RTT_TOLERANCE: f64 = 0.10;
/// ...or in absolute terms, whichever is larger (a veth round trip on a quiet machine is tens
/// of microseconds; a loaded one can take a scheduler tick).
pub const RTT_SLACK: Duration = Duration::from_millis(1);
/// The timed transfer: 2.4 MB, about the study's largest image (its 1080x1920 JPEG).
pub const TRANSFER_BYTES: u64 = 2_400_000;
/// Round trips timed; the check keeps their median.
const PINGS: usize = 21;

/// What the check measured over a link.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LinkCheck {
    /// The profile checked.
    pub link: Link,
    /// Median round trip of a one-byte exchange over TCP, in milliseconds.
    pub rtt_ms: f64,
    /// Steady goodput of a bulk transfer (its second half, past slow start), in Mbit/s.
    pub rate_mbit: f64,
    /// The bulk transfer's bytes (a quarter second's at the configured rate, at least 4 MB).
    pub bulk_bytes: u64,
    /// The timed transfer's bytes ([`TRANSFER_BYTES`]).
    pub transfer_bytes: u64,
    /// From its first byte sent to the receiver's answer, in milliseconds.
    pub transfer_ms: f64,
}

impl LinkCheck {
    /// Whether the link holds to its profile: rate and round trip within tolerance.
    pub fn holds(&self) -> bool {
        let Some(shape) = self.link.shape() else { return true };
        let configured = f64::from(shape.mbit);
        let rate_ok = (self.rate_mbit - configured).abs() <= configured * RATE_TOLERANCE;
        let rtt = f64::from(shape.rtt_ms);
        let slack = (rtt * RTT_TOLERANCE).max(RTT_SLACK.as_secs_f64() * 1e3);
        rate_ok && (self.rtt_ms - rtt).abs() <= slack
    }

    /// The timed transfer's wire time at the configured rate: what it cannot beat.
    pub fn transfer_wire_ms(&self) -> Option<f64> {
        let shape = self.link.shape()?;
        Some(shape.wire_time(self.transfer_bytes).as_secs_f64() * 1e3)
    }
}

/// `100mbit: 95.7 Mbit/s (configured 100), round trip 0.06 ms (configured 0), 2.4 MB in
/// 203.1 ms (wire time 192.0 ms)`.
impl fmt::Display for LinkCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (mbit, rtt) = self.link.shape().map_or((0, 0), |shape| (shape.mbit, shape.rtt_ms));
        write!(
            f,
            "{}: {:.1} Mbit/s (configured {mbit}), round trip {:.2} ms (configured {rtt}), \
             {:.1} MB in {:.1} ms",
            self.link,
            self.rate_mbit,
            self.rtt_ms,
            self.transfer_bytes as f64 / 1e6,
            self.transfer_ms,
        )?;
        match self.transfer_wire_ms() {
            Some(wire) => write!(f, " (wire time {wire:.1} ms)"),
            None => Ok(()),
        }
    }
}

/// Times a round trip, a bulk transfer and a [`TRANSFER_BYTES`] transfer over `link`, from its
/// client namespace to a listener in its server namespace; fails with
/// [`LinkError::NotAsClaimed`] when the link does not hold to its profile in any of
/// [`ATTEMPTS`] tries, a second apart (a busy machine can slow one down: the question is
/// whether the link can carry its rate, not whether it did while something else ran).
pub fn check(link: &Emulated) -> Result<LinkCheck, LinkError> {
    let mut tries = 0;
    loop {
        tries += 1;
        let measured = measure(link).map_err(|error| LinkError::Io("timing the link", error))?;
        if measured.holds() {
            return Ok(measured);
        }
        if tries == ATTEMPTS {
            return Err(LinkError::NotAsClaimed { link: link.link(), check: measured });
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

/// How many times [`check`] measures a link before it says the link is not what it claims.
pub const ATTEMPTS: usize = 5;

/// What [`check`] measures, whether or not it holds.
pub fn measure(link: &Emulated) -> io::Result<LinkCheck> {
    let shape = link.link().shape().expect("an emulated link has a shape");
    let listener = {
        let _inside = link.server().enter().map_err(io::Error::other)?;
        TcpListener::bind(link.server_addr(0))?
    };
    let addr = listener.local_addr()?;
    let receiver = std::thread::spawn(move || receive(&listener));
    let mut stream = {
        let _inside = link.client().enter().map_err(io::Error::other)?;
        TcpStream::connect(addr)?
    };
    stream.set_nodelay(true)?;
    stream.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut rtts: Vec<Duration> =
        (0..PINGS).map(|_| ping(&mut stream)).collect::<Result<_, _>>()?;
    rtts.sort();
    let quarter_second = u64::from(shape.mbit) * 1_000_000 / 8 / 4;
    let bulk_bytes = quarter_second.max(4_000_000);
    let (_, (after_half, second_half)) = send(&mut stream, bulk_bytes)?;
    let (transfer, _) = send(&mut stream, TRANSFER_BYTES)?;
    drop(stream);
    receiver.join().map_err(|_| io::Error::other("the link check's receiver panicked"))??;
    Ok(LinkCheck {
        link: link.link(),
        rtt_ms: rtts[PINGS / 2].as_secs_f64() * 1e3,
        rate_mbit: after_half as f64 * 8.0 / second_half.as_secs_f64() / 1e6,
        bulk_bytes,
        transfer_bytes: TRANSFER_BYTES,
        transfer_ms: transfer.as_secs_f64() * 1e3,
    })
}

/// One byte there and back.
fn ping(stream: &mut TcpStream) -> io::Result<Duration> {
    let start = Instant::now();
    stream.write_all(b"p")?;
    stream.read_exact(&mut [0])?;
    Ok(start.elapsed())
}

/// Sends `bytes` and waits for the receiver's answer: the time from the first byte sent to the
/// answer, and the bytes the receiver read after it had half of them and how long they took.
fn send(stream: &mut TcpStream, bytes: u64) -> io::Result<(Duration, (u64, Duration))> {
    let chunk = vec![0x5a_u8; 256 * 1024];
    let start = Instant::now();
    stream.write_all(b"b")?;
    stream.write_all(&bytes.to_le_bytes())?;
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        stream.write_all(&chunk[..n])?;
        left -= n as u64;
    }
    let mut answer = [0; 16];
    stream.read_exact(&mut answer)?;
    let elapsed = start.elapsed();
    let (after_half, nanos) = answer.split_at(8);
    let after_half = u64::from_le_bytes(after_half.try_into().expect("8 bytes"));
    let nanos = u64::from_le_bytes(nanos.try_into().expect("8 bytes"));
    Ok((elapsed, (after_half, Duration::from_nanos(nanos))))
}

/// The other end: answers `p` with `p`, and `b<length>` and that many bytes with how many
/// arrived after the read that brought half of them and the nanoseconds they took (timed from
/// that read, so a read that returned late counts its bytes in the first half, not the rate);
/// ends when the client hangs up.
fn receive(listener: &TcpListener) -> io::Result<()> {
    let (mut stream, _) = listener.accept()?;
    stream.set_nodelay(true)?;
    let mut buffer = vec![0; 256 * 1024];
    loop {
        let mut tag = [0];
        match stream.read_exact(&mut tag) {
            Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            other => other?,
        }
        if tag == *b"p" {
            stream.write_all(b"p")?;
            continue;
        }
        let mut length = [0; 8];
        stream.read_exact(&mut length)?;
        let total = u64::from_le_bytes(length);
        let (mut got, mut half) = (0, None);
        while got < total {
            let n = (total - got).min(buffer.len() as u64) as usize;
            let read = stream.read(&mut buffer[..n])?;
            if read == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            got += read as u64;
            if half.is_none() && got >= total / 2 {
                half = Some((got, Instant::now()));
            }
        }
        let (at_half, second_half) =
            half.map_or((total, Duration::ZERO), |(at, half)| (at, half.elapsed()));
        stream.write_all(&(total - at_half).to_le_bytes())?;
        stream.write_all(&(second_half.as_nanos() as u64).to_le_bytes())?;
    }
}

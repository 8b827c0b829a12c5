//! Vision stage: image bytes to model input, step by step as TorchServe's `image_classifier`
//! handler does it with torchvision on PIL images:
//!
//! ```text
//! decode (JPEG/PNG -> RGB8) -> Resize(256) -> CenterCrop(224) -> ToTensor + Normalize -> CHW f32
//! ```
//!
//! Each step is a public function so a bench can time it alone; [`preprocess`] chains them.
//! [`DecodeMode::Scaled`] is the one departure, chosen by a caller: a JPEG decoded at a fraction
//! of its size in the DCT domain (PIL's `draft()`), then resized to the same 256 as the exact
//! path (its fidelity is measured in tests/vision.rs and the README).
//! Resize is PIL's own antialiased bilinear resampling, reimplemented to the bit (see
//! [`resize_shorter`]), and the sizes and crop offsets follow torchvision's arithmetic, so the
//! tensor matches torchvision's up to the JPEG decoders' rounding (tests/vision.rs).

use image::{ImageBuffer, RgbImage};

/// Shorter side after [`resize_shorter`], as in torchvision's `Resize(256)`.
pub const RESIZE_SHORTER: u32 = 256;
/// Side of the square [`center_crop`], as in torchvision's `CenterCrop(224)`.
pub const CROP: u32 = 224;
/// ImageNet channel means (RGB) that [`normalize`] subtracts.
pub const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet channel standard deviations (RGB) that [`normalize`] divides by.
pub const STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Largest decoded image accepted, in bytes of pixels (the image crate's default limit too):
/// a 20-kilobyte JPEG can claim 65535 x 65535 pixels, and must not take 12 GB to refuse.
pub const MAX_DECODED_BYTES: usize = 512 << 20;

/// Why image bytes could not become model input.
#[derive(Debug, thiserror::Error)]
pub enum VisionError {
    /// No bytes at all.
    #[error("the image is empty")]
    Empty,
    /// Not a JPEG or PNG, corrupt, or too large to decode safely.
    #[error("cannot decode the image")]
    Decode(#[from] image::ImageError),
    /// A JPEG that libjpeg refuses (corrupt, or a colour space it cannot turn into RGB).
    #[error("cannot decode the JPEG: {0}")]
    Jpeg(String),
    /// A JPEG whose data ends before its last pixel, which PIL refuses too.
    #[error("the JPEG is truncated")]
    Truncated,
    /// More pixels than [`MAX_DECODED_BYTES`] allows.
    #[error("the image is {width}x{height} pixels, more than the decoder accepts")]
    TooLarge {
        /// Columns the header claims.
        width: usize,
        /// Rows the header claims.
        height: usize,
    },
}

/// A float image in channel-first layout (`[3, height, width]`, row-major): one model input.
#[derive(Clone, Debug, PartialEq)]
pub struct ChwImage {
    /// `3 * height * width` values, channel planes R, G, B one after another.
    pub data: Vec<f32>,
    /// Rows.
    pub height: u32,
    /// Columns.
    pub width: u32,
}

/// How the vision stage decodes a JPEG.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, clap::ValueEnum)]
pub enum DecodeMode {
    /// Every pixel, as PIL (and so TorchServe's handler) decodes: the tensor is torchvision's.
    #[default]
    Exact,
    /// At the smallest of libjpeg's 1/8, 1/4 and 1/2 scales whose shorter side still covers
    /// [`RESIZE_SHORTER`] ([`jpeg_scale`]), which skips most of the inverse DCT, colour
    /// conversion and resampling; then resized to the exact path's size. An approximation of
    /// the exact tensor, not equal to it. PNGs (and JPEGs too small to scale) decode exactly.
    Scaled,
}

impl DecodeMode {
    /// Both modes.
    pub const ALL: [Self; 2] = [Self::Exact, Self::Scaled];
}

/// Pixels that show an image of another size: a JPEG decoded at a fraction of its size.
/// [`prepare_decoded`] resizes them to what `Resize(256)` makes of the full image.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    /// The decoded pixels.
    pub pixels: RgbImage,
    /// `(width, height)` of the image in the file.
    pub full_size: (u32, u32),
}

/// libjpeg's scale numerator (over 8) for an image of `width` x `height` whose shorter side must
/// stay at least `shorter`: the smallest of 1, 2 and 4 that keeps it, else 8 (no scaling).
/// libjpeg's scaled sides are rounded up: `ceil(side * numerator / 8)`.
pub fn jpeg_scale(width: u32, height: u32, shorter: u32) -> u8 {
    let side = u64::from(width.min(height));
    [1u8, 2, 4]
        .into_iter()
        .find(|&numerator| (side * u64::from(numerator)).div_ceil(8) >= u64::from(shorter))
        .unwrap_or(8)
}

/// Decodes as `mode` says: [`decode`] for [`DecodeMode::Exact`]; for [`DecodeMode::Scaled`], a
/// JPEG at [`jpeg_scale`]'s fraction (its shorter side at least [`RESIZE_SHORTER`]).
pub fn decode_with(bytes: &[u8], mode: DecodeMode) -> Result<Decoded, VisionError> {
    if bytes.is_empty() {
        return Err(VisionError::Empty);
    }
    let format = image::guess_format(bytes)?;
    if format == image::ImageFormat::Jpeg {
        return decode_jpeg(bytes, (mode == DecodeMode::Scaled).then_some(RESIZE_SHORTER));
    }
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_DECODED_BYTES as u64);
    reader.limits(limits);
    let pixels = reader.decode()?.into_rgb8();
    Ok(Decoded { full_size: pixels.dimensions(), pixels })
}

/// Decodes JPEG or PNG bytes to 8-bit RGB (grey is expanded and alpha dropped, as PIL's
/// `convert("RGB")`).
///
/// JPEGs are decoded by libjpeg-turbo's code (the mozjpeg fork, decoding side unchanged), as
/// PIL decodes them, so the pixels are the same to the bit. The image crate's own JPEG decoder
/// (zune-jpeg) is as fast but shifts saturated colours by up to half a level on average,
/// measured on the noise fixtures: more than TorchServe parity allows. PNG uses the image crate.
pub fn decode(bytes: &[u8]) -> Result<RgbImage, VisionError> {
    Ok(decode_with(bytes, DecodeMode::Exact)?.pixels)
}

/// A JPEG decoded whole, or scaled down so its shorter side stays at least `shorter`.
fn decode_jpeg(bytes: &[u8], shorter: Option<u32>) -> Result<Decoded, VisionError> {
    // libjpeg's fatal errors arrive as unwinding (mozjpeg's design, made sound by the
    // `unwinding` feature): catch them here so a corrupt upload is an error, never a crash.
    let decoded = std::panic::catch_unwind(|| -> Result<Decoded, VisionError> {
        let mut decompress =
            mozjpeg::Decompress::new_reader(EndWatch { rest: bytes, hit_end: false })
                .map_err(|error| VisionError::Jpeg(error.to_string()))?;
        let (width, height) = decompress.size();
        if width.saturating_mul(height).saturating_mul(3) > MAX_DECODED_BYTES {
            return Err(VisionError::TooLarge { width, height });
        }
        let full_size = (width as u32, height as u32);
        if let Some(shorter) = shorter {
            decompress.scale(jpeg_scale(full_size.0, full_size.1, shorter));
        }
        let io_error = |error: std::io::Error| VisionError::Jpeg(error.to_string());
        let mut started = decompress.rgb().map_err(io_error)?;
        let (width, height) = (started.width() as u32, started.height() as u32);
        let pixels = started.read_scanlines::<u8>().map_err(io_error)?;
        if started.finish_into_inner().map_err(io_error)?.hit_end {
            return Err(VisionError::Truncated);
        }
        let pixels = RgbImage::from_raw(width, height, pixels)
            .expect("libjpeg returns width x height RGB pixels");
        Ok(Decoded { pixels, full_size })
    });
    decoded.unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|text| (*text).to_owned()))
            .unwrap_or_else(|| "libjpeg failed".to_owned());
        Err(VisionError::Jpeg(message))
    })
}

/// The JPEG's bytes as libjpeg reads them, noting whether it asked for more than there was:
/// libjpeg then pretends the file ended properly and paints the rest grey, where PIL (and so
/// TorchServe) refuses the image.
struct EndWatch<'a> {
    rest: &'a [u8],
    hit_end: bool,
}

impl std::io::Read for EndWatch<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.rest.read(buf)?;
        self.hit_end |= n == 0 && !buf.is_empty();
        Ok(n)
    }
}

impl std::io::BufRead for EndWatch<'_> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.hit_end |= self.rest.is_empty();
        Ok(self.rest)
    }

    fn consume(&mut self, amount: usize) {
        self.rest = &self.rest[amount..];
    }
}

/// Output size of torchvision's `Resize(shorter)`: the shorter side becomes `shorter`, the
/// longer one keeps the aspect ratio, truncated as torchvision truncates it. Returns
/// `(width, height)`.
pub fn resized_size(width: u32, height: u32, shorter: u32) -> (u32, u32) {
    let scale_long =
        |long: u32, short: u32| (u64::from(shorter) * u64::from(long) / u64::from(short)) as u32;
    if width <= height {
        (shorter, scale_long(height, width))
    } else {
        (scale_long(width, height), shorter)
    }
}

/// Resizes so the shorter side is `shorter` pixels, exactly as PIL's `Image.resize(size,
/// BILINEAR)` does under torchvision's `Resize`: a triangle filter widened by the scale factor
/// when shrinking (antialiasing), 22-bit fixed-point weights, a horizontal pass rounded to 8
/// bits, then a vertical one. Both passes read memory in order: the horizontal one row by row,
/// the vertical one adding whole source rows into an output row.
pub fn resize_shorter(image: &RgbImage, shorter: u32) -> RgbImage {
    let (width, height) = resized_size(image.width(), image.height(), shorter);
    resize_to(image, width, height)
}

/// Resizes to `width` x `height` with [`resize_shorter`]'s resampling, each axis scaled by its
/// own factor.
pub fn resize_to(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    let across = if width == image.width() { image.clone() } else { resize_rows(image, width) };
    if height == across.height() { across } else { resize_columns(&across, height) }
}

/// The horizontal pass: every row resampled to `width` pixels.
fn resize_rows(image: &RgbImage, width: u32) -> RgbImage {
    let taps = Taps::new(image.width(), width);
    let (source_stride, stride) = (image.width() as usize * 3, width as usize * 3);
    let mut out = vec![0u8; stride * image.height() as usize];
    for (source, row) in
        image.as_raw().chunks_exact(source_stride).zip(out.chunks_exact_mut(stride))
    {
        for (x, pixel) in row.chunks_exact_mut(3).enumerate() {
            let (first, weights) = taps.of(x);
            let mut sums = [ROUNDING; 3];
            for (value, weight) in source[first * 3..].chunks_exact(3).zip(weights) {
                for (sum, channel) in sums.iter_mut().zip(value) {
                    *sum += i32::from(*channel) * weight;
                }
            }
            for (channel, sum) in pixel.iter_mut().zip(sums) {
                *channel = to_u8(sum);
            }
        }
    }
    ImageBuffer::from_raw(width, image.height(), out).expect("sized for the image")
}

/// The vertical pass: every output row the weighted sum of its source rows.
fn resize_columns(image: &RgbImage, height: u32) -> RgbImage {
    let taps = Taps::new(image.height(), height);
    let stride = image.width() as usize * 3;
    let rows: Vec<&[u8]> = image.as_raw().chunks_exact(stride).collect();
    let mut out = vec![0u8; stride * height as usize];
    let mut sums = vec![0i32; stride];
    for (y, row) in out.chunks_exact_mut(stride).enumerate() {
        let (first, weights) = taps.of(y);
        sums.fill(ROUNDING);
        for (source, weight) in rows[first..].iter().zip(weights) {
            for (sum, value) in sums.iter_mut().zip(*source) {
                *sum += i32::from(*value) * weight;
            }
        }
        for (value, sum) in row.iter_mut().zip(&sums) {
            *value = to_u8(*sum);
        }
    }
    ImageBuffer::from_raw(image.width(), height, out).expect("sized for the image")
}

/// Fixed-point fraction bits of PIL's 8-bit resampling weights.
const PRECISION_BITS: u32 = 32 - 8 - 2;
/// Half of one in those bits: what every sum starts from, so the shift rounds.
const ROUNDING: i32 = 1 << (PRECISION_BITS - 1);

/// A fixed-point sum back to a channel value.
fn to_u8(sum: i32) -> u8 {
    (sum >> PRECISION_BITS).clamp(0, 255) as u8
}

/// One axis of PIL's resampling: for each output pixel, the first source pixel and the
/// fixed-point weights of the source pixels from there on.
struct Taps {
    first: Vec<usize>,
    weights: Vec<Vec<i32>>,
}

impl Taps {
    fn new(source: u32, target: u32) -> Self {
        let scale = f64::from(source) / f64::from(target);
        let filter_scale = scale.max(1.0);
        let support = filter_scale; // the bilinear (triangle) filter's support is 1
        let (mut first, mut weights) = (Vec::new(), Vec::new());
        for out in 0..target {
            let center = (f64::from(out) + 0.5) * scale;
            // PIL truncates toward zero here, like C's (int) cast.
            let start = ((center - support + 0.5) as i64).max(0) as u32;
            let end = ((center + support + 0.5) as i64).min(i64::from(source)) as u32;
            let raw: Vec<f64> = (start..end)
                .map(|i| (1.0 - ((f64::from(i) - center + 0.5) / filter_scale).abs()).max(0.0))
                .collect();
            let total: f64 = raw.iter().sum();
            let fixed = raw
                .iter()
                .map(|w| {
                    let w = if total == 0.0 { 0.0 } else { w / total };
                    let rounding = if w < 0.0 { -0.5 } else { 0.5 };
                    (w * f64::from(1u32 << PRECISION_BITS) + rounding) as i32
                })
                .collect();
            first.push(start as usize);
            weights.push(fixed);
        }
        Self { first, weights }
    }

    /// Output pixel `out`'s first source pixel and the weights from there on.
    fn of(&self, out: usize) -> (usize, &[i32]) {
        (self.first[out], &self.weights[out])
    }
}

/// Cuts the centered `size` x `size` square, rounding offsets half-to-even as torchvision
/// does; a side shorter than `size` is padded with black first, as torchvision pads.
pub fn center_crop(image: &RgbImage, size: u32) -> RgbImage {
    let offset = |side: u32| (f64::from(side) - f64::from(size)) / 2.0;
    let (left, top) =
        (offset(image.width()).round_ties_even(), offset(image.height()).round_ties_even());
    ImageBuffer::from_fn(size, size, |x, y| {
        let (sx, sy) = (i64::from(x) + left as i64, i64::from(y) + top as i64);
        let inside = (0..i64::from(image.width())).contains(&sx)
            && (0..i64::from(image.height())).contains(&sy);
        if inside { *image.get_pixel(sx as u32, sy as u32) } else { image::Rgb([0, 0, 0]) }
    })
}

/// Scales to [0, 1] (`ToTensor`), then subtracts [`MEAN`] and divides by [`STD`] per channel
/// (`Normalize`), laid out channel-first.
pub fn normalize(image: &RgbImage) -> ChwImage {
    let plane = image.width() as usize * image.height() as usize;
    let mut data = vec![0.0f32; 3 * plane];
    for (channel, values) in data.chunks_exact_mut(plane).enumerate() {
        for (value, pixel) in values.iter_mut().zip(image.pixels()) {
            *value = (f32::from(pixel[channel]) / 255.0 - MEAN[channel]) / STD[channel];
        }
    }
    ChwImage { data, height: image.height(), width: image.width() }
}

/// Everything after decoding: resize the shorter side to 256, crop 224, normalize.
pub fn prepare(image: &RgbImage) -> ChwImage {
    prepare_showing(image, image.dimensions())
}

/// [`prepare`] for pixels that may show a larger image: resized to what `Resize(256)` makes of
/// the full image (so the crop is taken from the same place), then cropped and normalized.
pub fn prepare_decoded(decoded: &Decoded) -> ChwImage {
    prepare_showing(&decoded.pixels, decoded.full_size)
}

/// `pixels` of an image of `(width, height)` resized to what `Resize(256)` makes of that
/// image, cropped and normalized.
fn prepare_showing(pixels: &RgbImage, (full_width, full_height): (u32, u32)) -> ChwImage {
    let (width, height) = resized_size(full_width, full_height, RESIZE_SHORTER);
    normalize(&center_crop(&resize_to(pixels, width, height), CROP))
}

/// The whole stage: decode, then [`prepare`].
pub fn preprocess(bytes: &[u8]) -> Result<ChwImage, VisionError> {
    preprocess_with(bytes, DecodeMode::Exact)
}

/// The whole stage, decoding as `mode` says: [`decode_with`], then [`prepare_decoded`].
pub fn preprocess_with(bytes: &[u8], mode: DecodeMode) -> Result<ChwImage, VisionError> {
    Ok(prepare_decoded(&decode_with(bytes, mode)?))
}

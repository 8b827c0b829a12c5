//! Fixtures stage: the study's images and payloads, made here from a seed, never downloaded.
//!
//! Images are generated on first use and cached as files under `fixtures/generated/` (git-ignored;
//! `SERVEBENCH_FIXTURES_DIR` moves it). The same spec gives the same bytes on every machine, so a
//! cached file is only a shortcut: delete it and the next run makes it again.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use bytes::Bytes;
use image::codecs::png::PngEncoder;
use image::{ExtendedColorType, ImageEncoder};
use jpeg_encoder::{ChromaSubsamplingMethod, ColorType, SamplingFactor};

use crate::codec;
use crate::error::{UnknownName, by_name};
use crate::messages::{BasicRequest, BasicResponse, ImageBase64Request, ImageBinaryRequest};

/// The seed every fixture is derived from.
pub const SEED: u64 = 2023;

/// JPEG quality of every JPEG fixture: OpenCV's default, which the study's images used.
/// Chroma is subsampled 4:2:0 with averaging, as libjpeg (under OpenCV and PIL) does by default;
/// that is what puts the study's 1080x1920 noise image near its 2.3 MB.
pub const JPEG_QUALITY: u8 = 95;

/// Entries in the study's maps (`field4`, `prediction2`) and floats in `prediction1`.
pub const STUDY_ENTRIES: usize = 100;

/// An image's size in pixels, named height x width as the study names them (`720x1280`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageSize {
    /// Rows.
    pub height: u32,
    /// Columns.
    pub width: u32,
}

impl fmt::Display for ImageSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}x{}", self.height, self.width)
    }
}

impl FromStr for ImageSize {
    type Err = UnknownName;

    /// `720x1280`: height, `x`, width, as [`Display`](fmt::Display) writes it.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unknown = || UnknownName { what: "image size", name: text.to_owned() };
        let (height, width) = text.split_once('x').ok_or_else(unknown)?;
        let side = |digits: &str| {
            // Only the canonical form: no sign, no leading zero, so each size has one name.
            let canonical = !digits.starts_with(['+', '0']);
            digits.parse::<u32>().ok().filter(|_| canonical).ok_or_else(unknown)
        };
        Ok(Self { height: side(height)?, width: side(width)? })
    }
}

/// The study's three image sizes.
pub const STUDY_SIZES: [ImageSize; 3] = [
    ImageSize { height: 360, width: 640 },
    ImageSize { height: 720, width: 1280 },
    ImageSize { height: 1080, width: 1920 },
];

/// What the picture shows; it decides how well the image compresses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scene {
    /// Uniform random RGB noise, as in the study: nearly incompressible, hence its large files.
    Noise,
    /// Smooth gradients and shapes with fine grain: compresses like a real photo.
    Smooth,
}

impl Scene {
    /// Both scenes.
    pub const ALL: [Self; 2] = [Self::Noise, Self::Smooth];

    /// `noise` or `smooth`, as in bench ids and file names.
    pub fn name(self) -> &'static str {
        match self {
            Self::Noise => "noise",
            Self::Smooth => "smooth",
        }
    }
}

/// How the picture is encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Encoding {
    /// Baseline JPEG at [`JPEG_QUALITY`].
    Jpeg,
    /// Lossless PNG, default compression.
    Png,
}

impl Encoding {
    /// Both encodings.
    pub const ALL: [Self; 2] = [Self::Jpeg, Self::Png];

    /// `jpeg` or `png`, as in bench ids.
    pub fn name(self) -> &'static str {
        match self {
            Self::Jpeg => "jpeg",
            Self::Png => "png",
        }
    }
}

/// One fixture image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ImageSpec {
    /// Size in pixels.
    pub size: ImageSize,
    /// Content.
    pub scene: Scene,
    /// File format.
    pub encoding: Encoding,
}

impl ImageSpec {
    /// The study's image of this size: noise, JPEG.
    pub const fn study(size: ImageSize) -> Self {
        Self { size, scene: Scene::Noise, encoding: Encoding::Jpeg }
    }

    /// The cache file name, which names everything the bytes depend on.
    pub fn file_name(&self) -> String {
        let scene = self.scene.name();
        let extension = match self.encoding {
            Encoding::Jpeg => format!("q{JPEG_QUALITY}.jpg"),
            Encoding::Png => "png".to_owned(),
        };
        format!("{scene}_{}_seed{SEED}_v{GENERATOR_VERSION}_{extension}", self.size)
    }
}

/// `noise_jpeg_720x1280`: scene, encoding and size, as bench ids name an image.
impl fmt::Display for ImageSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}_{}", self.scene.name(), self.encoding.name(), self.size)
    }
}

impl FromStr for ImageSpec {
    type Err = UnknownName;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut parts = text.splitn(3, '_');
        let (Some(scene), Some(encoding), Some(size)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(UnknownName { what: "image", name: text.to_owned() });
        };
        Ok(Self {
            scene: by_name("scene", &Scene::ALL, Scene::name, scene)?,
            encoding: by_name("encoding", &Encoding::ALL, Encoding::name, encoding)?,
            size: size.parse()?,
        })
    }
}

/// Bump when the pixels a spec generates change, so stale cache files are not reused.
const GENERATOR_VERSION: u32 = 1;

/// The encoded image for a spec: read from the cache, or generated and cached.
///
/// A cache that cannot be read or written is skipped, never an error: the bytes are the same.
pub fn image(spec: ImageSpec) -> Bytes {
    let path = cache_dir().join(spec.file_name());
    if let Ok(bytes) = std::fs::read(&path) {
        return bytes.into();
    }
    let bytes = generate(spec);
    // Best effort: a read-only checkout still gets its fixtures, only slower.
    let _ = write_atomically(&path, &bytes);
    bytes
}

/// Encodes the spec's pixels, without touching the cache.
pub fn generate(spec: ImageSpec) -> Bytes {
    let ImageSize { width, height } = spec.size;
    let pixels = match spec.scene {
        Scene::Noise => noise_pixels(spec.size),
        Scene::Smooth => smooth_pixels(spec.size),
    };
    let mut out = Vec::new();
    match spec.encoding {
        Encoding::Jpeg => {
            let mut encoder = jpeg_encoder::Encoder::new(&mut out, JPEG_QUALITY);
            encoder.set_sampling_factor(SamplingFactor::F_2_2);
            encoder.set_chroma_subsampling_method(ChromaSubsamplingMethod::Average);
            let (width, height) = (jpeg_side(width), jpeg_side(height));
            encoder.encode(&pixels, width, height, ColorType::Rgb).expect(ENCODE_INFALLIBLE);
        }
        Encoding::Png => PngEncoder::new(&mut out)
            .write_image(&pixels, width, height, ExtendedColorType::Rgb8)
            .expect(ENCODE_INFALLIBLE),
    }
    out.into()
}

const ENCODE_INFALLIBLE: &str = "encoding an in-memory RGB8 buffer of matching size cannot fail";

/// JPEG stores sides as 16 bits; larger images cannot exist in the format at all.
fn jpeg_side(pixels: u32) -> u16 {
    u16::try_from(pixels).expect("JPEG images are at most 65535 pixels on a side")
}

/// Writes every study image (and its smooth twin) into `dir`, for clients outside servebench.
pub fn export(dir: &Path) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for size in STUDY_SIZES {
        for scene in [Scene::Noise, Scene::Smooth] {
            let spec = ImageSpec { size, scene, encoding: Encoding::Jpeg };
            let path = dir.join(spec.file_name());
            std::fs::write(&path, image(spec))?;
            written.push(path);
        }
    }
    Ok(written)
}

/// The study's structured request: "Hello", "Word", 2023 and a 100-entry map `"i" -> i`.
pub fn basic_request() -> BasicRequest {
    BasicRequest {
        field1: "Hello".to_owned(),
        field2: "Word".to_owned(),
        field3: 2023,
        field4: study_map(),
    }
}

/// The answer every server gives to every request: 100 seeded floats in [0, 1) and a
/// 100-entry map, the same over REST and gRPC.
pub fn basic_response() -> BasicResponse {
    let mut rng = SplitMix64::new(SEED ^ 0x5245_5350); // "RESP"
    BasicResponse {
        prediction1: (0..STUDY_ENTRIES).map(|_| rng.next_unit() as f32).collect(),
        prediction2: study_map(),
    }
}

/// The study's base64 request for an encoded image.
pub fn base64_request(image: &[u8]) -> ImageBase64Request {
    ImageBase64Request { image: codec::base64::encode(image) }
}

/// The study's binary request for an encoded image.
pub fn binary_request(image: Bytes) -> ImageBinaryRequest {
    ImageBinaryRequest { image }
}

fn study_map() -> std::collections::BTreeMap<String, i32> {
    (0..STUDY_ENTRIES as i32).map(|i| (i.to_string(), i)).collect()
}

fn cache_dir() -> PathBuf {
    std::env::var_os("SERVEBENCH_FIXTURES_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/generated"))
}

/// Writes through a temporary file and a rename, so parallel tests never read half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().expect("cache paths have a parent");
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".{}.{}.tmp", std::process::id(), unique_suffix()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}

fn unique_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

fn noise_pixels(size: ImageSize) -> Vec<u8> {
    let mut rng = SplitMix64::new(SEED ^ seed_of(size));
    let mut pixels = vec![0u8; size.width as usize * size.height as usize * 3];
    for chunk in pixels.chunks_mut(8) {
        let word = rng.next_u64().to_le_bytes();
        chunk.copy_from_slice(&word[..chunk.len()]);
    }
    pixels
}

/// A sky-to-ground gradient, soft blobs of colour, a few hard-edged blocks and a little grain:
/// mostly low frequencies with some edges, like a photo, so JPEG shrinks it to a fraction of
/// the noise image.
fn smooth_pixels(size: ImageSize) -> Vec<u8> {
    let mut rng = SplitMix64::new(SEED ^ seed_of(size) ^ 0x534d_4f4f); // "SMOO"
    let (w, h) = (size.width as f32, size.height as f32);
    let blobs: Vec<[f32; 6]> = (0..6)
        .map(|_| {
            let unit = |rng: &mut SplitMix64| rng.next_unit() as f32;
            [
                unit(&mut rng) * w,
                unit(&mut rng) * h,
                (0.08 + 0.2 * unit(&mut rng)) * w,
                unit(&mut rng) * 255.0,
                unit(&mut rng) * 255.0,
                unit(&mut rng) * 255.0,
            ]
        })
        .collect();
    let blocks: Vec<[f32; 5]> = (0..5)
        .map(|_| {
            let (left, top) =
                (rng.next_unit() as f32 * w, (0.4 + 0.4 * rng.next_unit() as f32) * h);
            let (width, shade) =
                ((0.05 + 0.1 * rng.next_unit() as f32) * w, rng.next_unit() as f32);
            [left, top, left + width, h, 40.0 + 160.0 * shade]
        })
        .collect();
    let mut pixels = Vec::with_capacity(size.width as usize * size.height as usize * 3);
    for y in 0..size.height {
        let v = y as f32 / h;
        for x in 0..size.width {
            let u = x as f32 / w;
            let mut rgb = [
                60.0 + 120.0 * v + 20.0 * (6.0 * u).sin(),
                110.0 + 60.0 * v,
                200.0 - 140.0 * v + 15.0 * (4.0 * v + 3.0 * u).cos(),
            ];
            for [cx, cy, radius, r, g, b] in &blobs {
                let d2 = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)) / radius.powi(2);
                let weight = (-d2).exp();
                for (channel, target) in rgb.iter_mut().zip([r, g, b]) {
                    *channel += (target - *channel) * weight;
                }
            }
            let (xf, yf) = (x as f32, y as f32);
            if let Some(block) = blocks
                .iter()
                .find(|[l, t, r, b, _]| (*l..*r).contains(&xf) && (*t..*b).contains(&yf))
            {
                rgb = [block[4], block[4] * 0.9, block[4] * 0.8];
            }
            let grain = (rng.next_u64() % 7) as f32 - 3.0;
            pixels.extend(rgb.map(|c| (c + grain).clamp(0.0, 255.0) as u8));
        }
    }
    pixels
}

fn seed_of(size: ImageSize) -> u64 {
    (u64::from(size.height) << 32) | u64::from(size.width)
}

/// SplitMix64: a tiny, fixed PRNG, so fixtures (and the tests' generated cases) never change
/// with a dependency's version.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// The stream that starts from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

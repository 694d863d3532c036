//! HEIC/HEIF (iPhones' photos: HEVC inside) and AVIF (AV1 inside), decoded by the system's libheif.
//!
//! libheif is loaded when the first such photo is met, not linked: a hashlens without it still starts and
//! reads every other format, and reports these photos as "HEIC/AVIF support is not installed (libheif)"
//! instead of failing. Debian and Ubuntu ship it as `libheif1` (HEVC through libde265, AV1 through dav1d
//! or aom); the `.deb` recommends it and `.ci/run` installs it. The calls used are libheif's stable C API
//! (1.x): read a file from memory, take its primary image, decode it to interleaved 8-bit RGB with the
//! file's rotation and mirroring applied (HEIF stores orientation as `irot`/`imir` transforms, which
//! libheif applies by default; the EXIF orientation of a HEIF file must be ignored).

use std::ffi::{CStr, c_char, c_int, c_void};
use std::sync::OnceLock;

use image::RgbImage;

use super::{DecodeLimits, PhotoError};

#[repr(C)]
struct HeifError {
    code: c_int,
    subcode: c_int,
    message: *const c_char,
}

const COLORSPACE_RGB: c_int = 1;
const CHROMA_INTERLEAVED_RGB: c_int = 10;
const CHANNEL_INTERLEAVED: c_int = 10;

type Ctx = c_void;
type Handle = c_void;
type Image = c_void;

/// The functions hashlens calls, resolved once.
struct Lib {
    _lib: libloading::Library,
    context_alloc: unsafe extern "C" fn() -> *mut Ctx,
    context_free: unsafe extern "C" fn(*mut Ctx),
    read_from_memory:
        unsafe extern "C" fn(*mut Ctx, *const c_void, usize, *const c_void) -> HeifError,
    primary_handle: unsafe extern "C" fn(*mut Ctx, *mut *mut Handle) -> HeifError,
    handle_release: unsafe extern "C" fn(*const Handle),
    handle_width: unsafe extern "C" fn(*const Handle) -> c_int,
    handle_height: unsafe extern "C" fn(*const Handle) -> c_int,
    decode_image: unsafe extern "C" fn(
        *const Handle,
        *mut *mut Image,
        c_int,
        c_int,
        *const c_void,
    ) -> HeifError,
    image_width: unsafe extern "C" fn(*const Image, c_int) -> c_int,
    image_height: unsafe extern "C" fn(*const Image, c_int) -> c_int,
    plane_readonly: unsafe extern "C" fn(*const Image, c_int, *mut c_int) -> *const u8,
    image_release: unsafe extern "C" fn(*const Image),
}

#[cfg(target_os = "linux")]
const NAMES: &[&str] = &["libheif.so.1", "libheif.so"];
#[cfg(target_os = "macos")]
const NAMES: &[&str] = &["libheif.1.dylib", "libheif.dylib"];
#[cfg(target_os = "windows")]
const NAMES: &[&str] = &["heif.dll", "libheif.dll"];
#[cfg(not(any(target_os = "linux", target_os = "macos", target_os = "windows")))]
const NAMES: &[&str] = &["libheif.so.1"];

impl Lib {
    fn load() -> Result<Self, String> {
        // SAFETY: loading libheif runs its initialisers, which have no preconditions; each symbol is
        // given the type of its declaration in libheif's `heif.h` (1.x, unchanged since 1.3).
        unsafe {
            let lib = NAMES
                .iter()
                .find_map(|n| libloading::Library::new(n).ok())
                .ok_or_else(|| "HEIC/AVIF support is not installed (libheif)".to_string())?;
            macro_rules! sym {
                ($name:literal) => {
                    *lib.get($name)
                        .map_err(|e| format!("the installed libheif is too old or damaged ({e})"))?
                };
            }
            Ok(Self {
                context_alloc: sym!(b"heif_context_alloc\0"),
                context_free: sym!(b"heif_context_free\0"),
                read_from_memory: sym!(b"heif_context_read_from_memory_without_copy\0"),
                primary_handle: sym!(b"heif_context_get_primary_image_handle\0"),
                handle_release: sym!(b"heif_image_handle_release\0"),
                handle_width: sym!(b"heif_image_handle_get_width\0"),
                handle_height: sym!(b"heif_image_handle_get_height\0"),
                decode_image: sym!(b"heif_decode_image\0"),
                image_width: sym!(b"heif_image_get_width\0"),
                image_height: sym!(b"heif_image_get_height\0"),
                plane_readonly: sym!(b"heif_image_get_plane_readonly\0"),
                image_release: sym!(b"heif_image_release\0"),
                _lib: lib,
            })
        }
    }
}

fn lib() -> Result<&'static Lib, PhotoError> {
    static LIB: OnceLock<Result<Lib, String>> = OnceLock::new();
    LIB.get_or_init(Lib::load)
        .as_ref()
        .map_err(|e| PhotoError::NotInstalled(e.clone()))
}

/// Whether HEIC/AVIF photos can be decoded here.
pub fn available() -> bool {
    lib().is_ok()
}

fn check(err: HeifError) -> Result<(), PhotoError> {
    if err.code == 0 {
        return Ok(());
    }
    let message = if err.message.is_null() {
        format!("libheif error {}.{}", err.code, err.subcode)
    } else {
        // SAFETY: libheif's messages are static, NUL-terminated strings.
        unsafe { CStr::from_ptr(err.message) }
            .to_string_lossy()
            .into_owned()
    };
    Err(PhotoError::Corrupt(message))
}

/// Releases what libheif allocated, whatever happens in between.
struct Guard<'a> {
    lib: &'a Lib,
    ctx: *mut Ctx,
    handle: *mut Handle,
    image: *mut Image,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        // SAFETY: each pointer is either null or was returned by libheif and not released yet.
        unsafe {
            if !self.image.is_null() {
                (self.lib.image_release)(self.image);
            }
            if !self.handle.is_null() {
                (self.lib.handle_release)(self.handle);
            }
            if !self.ctx.is_null() {
                (self.lib.context_free)(self.ctx);
            }
        }
    }
}

/// Decodes a HEIF/AVIF file's primary image to upright 8-bit RGB, refusing images beyond `limits`
/// before decoding them.
pub fn decode(bytes: &[u8], limits: &DecodeLimits) -> Result<RgbImage, PhotoError> {
    let lib = lib()?;
    // SAFETY: the calls follow libheif's API contract: the context outlives the handle, the handle the
    // image, `bytes` outlives the context (read without copy), and the guard releases each once. The
    // plane is read within the image's reported size and stride.
    unsafe {
        let mut g = Guard {
            lib,
            ctx: (lib.context_alloc)(),
            handle: std::ptr::null_mut(),
            image: std::ptr::null_mut(),
        };
        if g.ctx.is_null() {
            return Err(PhotoError::Corrupt("libheif could not start".into()));
        }
        check((lib.read_from_memory)(
            g.ctx,
            bytes.as_ptr().cast(),
            bytes.len(),
            std::ptr::null(),
        ))?;
        check((lib.primary_handle)(g.ctx, &mut g.handle))?;
        let (w, h) = ((lib.handle_width)(g.handle), (lib.handle_height)(g.handle));
        let (w, h) = (w.max(0) as u32, h.max(0) as u32);
        if w > limits.max_side || h > limits.max_side {
            return Err(PhotoError::TooLarge(format!(
                "{w} × {h} pixels, over the {} pixels a side this app accepts",
                limits.max_side
            )));
        }
        if u64::from(w) * u64::from(h) * 3 > limits.max_alloc {
            return Err(PhotoError::TooLarge(format!(
                "{w} × {h} pixels need {} MiB, over the {} MiB decoding limit",
                (u64::from(w) * u64::from(h) * 3) >> 20,
                limits.max_alloc >> 20
            )));
        }
        check((lib.decode_image)(
            g.handle,
            &mut g.image,
            COLORSPACE_RGB,
            CHROMA_INTERLEAVED_RGB,
            std::ptr::null(),
        ))?;
        let w = (lib.image_width)(g.image, CHANNEL_INTERLEAVED);
        let h = (lib.image_height)(g.image, CHANNEL_INTERLEAVED);
        let mut stride: c_int = 0;
        let plane = (lib.plane_readonly)(g.image, CHANNEL_INTERLEAVED, &mut stride);
        if plane.is_null() || w <= 0 || h <= 0 || (stride as i64) < 3 * w as i64 {
            return Err(PhotoError::Corrupt("libheif returned no pixels".into()));
        }
        let (w, h, stride) = (w as usize, h as usize, stride as usize);
        let mut rgb = Vec::with_capacity(w * h * 3);
        for y in 0..h {
            rgb.extend_from_slice(std::slice::from_raw_parts(plane.add(y * stride), w * 3));
        }
        Ok(RgbImage::from_raw(w as u32, h as u32, rgb).expect("w × h × 3 values"))
    }
}

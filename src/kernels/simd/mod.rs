//! Choosing the instruction set at run time: one build that runs on every x86-64 CPU and uses
//! the widest vectors the CPU it runs on has.
//!
//! A release build targets baseline x86-64 (SSE2), so the compiler may not emit AVX2 or AVX-512
//! instructions on its own. The wide kernels (`avx2.rs`, `avx512.rs`) are compiled for those
//! instruction sets with `#[target_feature(enable = ...)]`, and calling one is only sound on a
//! CPU that has them, so every call goes through a [`Path`] that was checked with
//! `is_x86_feature_detected!` (CPUID, cached by std). C spells the same idea
//! `__attribute__((target("avx512bw")))` plus `__builtin_cpu_supports("avx512bw")`; see
//! docs/appendix-a-speed.md.
//!
//! The path in use is a process-wide setting: the best one the CPU supports, unless the
//! `RAWCAPI_SIMD` environment variable (read once, at the first import) names another. Naming a
//! path the CPU lacks, or a name that is not a path, is an error at import rather than a silent
//! fallback: a test run that forces `avx2` must really run `avx2`, or fail loudly.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::OnceLock;

#[cfg(target_arch = "x86_64")]
pub mod avx2;
#[cfg(target_arch = "x86_64")]
pub mod avx512;

/// An instruction-set path for the kernels, narrowest first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Path {
    /// Plain Rust loops compiled for the baseline target (on x86-64 the compiler still
    /// vectorises them with 128-bit SSE2; see docs/appendix-a-speed.md).
    Scalar = 1,
    /// 256-bit AVX2: `vpsadbw` byte sums, `vpcmpeq` + `vpmovmskb` + `popcnt` counts.
    Avx2 = 2,
    /// 512-bit AVX-512 (F + BW): `vpsadbw` on zmm, compares into mask registers, masked loads
    /// for the ragged ends.
    Avx512 = 3,
}

impl Path {
    /// Every path, widest first.
    pub const ALL: [Path; 3] = [Path::Avx512, Path::Avx2, Path::Scalar];

    /// The name `RAWCAPI_SIMD` and the private `_set_simd_path` accept.
    pub fn name(self) -> &'static str {
        match self {
            Path::Scalar => "scalar",
            Path::Avx2 => "avx2",
            Path::Avx512 => "avx512",
        }
    }

    pub fn from_name(name: &str) -> Option<Path> {
        Path::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Whether this CPU can run the path's instructions.
    pub fn is_supported(self) -> bool {
        match self {
            Path::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            Path::Avx2 => std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("popcnt"),
            #[cfg(target_arch = "x86_64")]
            Path::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512bw")
                    && std::arch::is_x86_feature_detected!("popcnt")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }
}

/// The paths this CPU supports, widest first (`scalar` is always last).
pub fn supported() -> Vec<Path> {
    Path::ALL.into_iter().filter(|p| p.is_supported()).collect()
}

/// The widest supported path.
pub fn best() -> Path {
    Path::ALL.into_iter().find(|p| p.is_supported()).unwrap_or(Path::Scalar)
}

/// The path the kernels use now; 0 until first chosen. Holds only supported paths.
static CURRENT: AtomicU8 = AtomicU8::new(0);

/// The path in use. Before any choice (e.g. in `cargo test`, which never imports the module)
/// that is the best supported one.
#[inline(always)]
pub fn current() -> Path {
    match CURRENT.load(Ordering::Relaxed) {
        3 => Path::Avx512,
        2 => Path::Avx2,
        1 => Path::Scalar,
        _ => choose_best(),
    }
}

#[cold]
fn choose_best() -> Path {
    let path = best();
    CURRENT.store(path as u8, Ordering::Relaxed);
    path
}

/// A path was requested that cannot be used; the message names the request and the choices.
#[derive(Debug, PartialEq, Eq)]
pub struct Unavailable(pub String);

/// Check a requested path name against what this CPU supports.
pub fn resolve(name: &str) -> Result<Path, Unavailable> {
    resolve_among(name, &supported())
}

/// Check a requested path name against a list of supported paths (separate from the CPU so the
/// refusal can be tested on a CPU that supports everything).
fn resolve_among(name: &str, supported: &[Path]) -> Result<Path, Unavailable> {
    let names = || supported.iter().map(|p| p.name()).collect::<Vec<_>>().join(", ");
    match Path::from_name(name) {
        None => Err(Unavailable(format!("unknown SIMD path {name:?}: expected one of avx512, avx2, scalar"))),
        Some(path) if !supported.contains(&path) => {
            Err(Unavailable(format!("SIMD path {name:?} is not supported by this CPU (supported here: {})", names())))
        }
        Some(path) => Ok(path),
    }
}

/// Use `path` from now on, process-wide; returns the previous path. Kernels already running
/// finish on the path they started with.
pub fn force(path: Path) -> Result<Path, Unavailable> {
    let path = resolve(path.name())?;
    let previous = current();
    CURRENT.store(path as u8, Ordering::Relaxed);
    Ok(previous)
}

/// The environment variable that forces a path.
pub const ENV_VAR: &str = "RAWCAPI_SIMD";

/// Apply `RAWCAPI_SIMD` once per process (later imports, e.g. in subinterpreters, get the same
/// answer and do not undo a later `force`). Unset or empty means the best path.
pub fn configure_from_env() -> Result<Path, Unavailable> {
    static CONFIGURED: OnceLock<Result<Path, String>> = OnceLock::new();
    CONFIGURED
        .get_or_init(|| {
            let chosen = match std::env::var(ENV_VAR) {
                Ok(value) if !value.trim().is_empty() => {
                    resolve(&value.trim().to_ascii_lowercase()).map_err(|e| format!("{ENV_VAR}={value:?}: {}", e.0))?
                }
                _ => best(),
            };
            CURRENT.store(chosen as u8, Ordering::Relaxed);
            Ok(chosen)
        })
        .clone()
        .map_err(Unavailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Path::ALL {
            assert_eq!(Path::from_name(p.name()), Some(p));
        }
        assert_eq!(Path::from_name("sse9"), None);
    }

    #[test]
    fn scalar_is_always_supported_and_last() {
        let s = supported();
        assert_eq!(s.last(), Some(&Path::Scalar));
        assert_eq!(s[0], best());
    }

    #[test]
    fn an_unsupported_path_is_refused_with_the_alternatives() {
        let e = resolve_among("avx512", &[Path::Avx2, Path::Scalar]).unwrap_err();
        assert_eq!(e.0, "SIMD path \"avx512\" is not supported by this CPU (supported here: avx2, scalar)");
        assert_eq!(resolve_among("avx2", &[Path::Avx2, Path::Scalar]), Ok(Path::Avx2));
        assert!(resolve_among("avx2", &[Path::Scalar]).is_err());
    }

    #[test]
    fn resolve_explains_refusals() {
        let e = resolve("sse9").unwrap_err();
        assert!(e.0.contains("unknown SIMD path \"sse9\""), "{}", e.0);
        assert_eq!(resolve("scalar"), Ok(Path::Scalar));
        for p in Path::ALL {
            match resolve(p.name()) {
                Ok(q) => assert!(q == p && p.is_supported()),
                Err(e) => assert!(!p.is_supported() && e.0.contains("not supported by this CPU"), "{}", e.0),
            }
        }
    }
}

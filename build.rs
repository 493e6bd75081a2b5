//! Build script: tell rustc which CPython it is compiling for, and measure that CPython's structs.
//!
//! 1. `pyo3_build_config::use_pyo3_cfgs()` runs the target interpreter once and emits `cfg` flags
//!    such as `Py_3_12` or `Py_LIMITED_API`, so the source can say `#[cfg(Py_3_12)]` where the C
//!    API differs between versions — the Rust counterpart of `#if PY_VERSION_HEX >= 0x030C0000`.
//! 2. The layout check (docs/08-abi.md): `src/layout/c_view.c` is compiled with the `cc` crate
//!    against the *same* interpreter's `Python.h`, recording `sizeof`/`offsetof` of the structs
//!    rawcapi hands to CPython. It is linked into the crate; `src/layout/mod.rs` compares it with
//!    Rust's view of pyo3-ffi's declarations (`size_of`, `offset_of!`), in `cargo test` and in
//!    the private `rawcapi._layout()` that pytest checks on every interpreter.
use std::path::PathBuf;
use std::process::Command;

use pyo3_build_config::{PythonAbiKind, StableAbi};

fn main() {
    pyo3_build_config::use_pyo3_cfgs();
    println!("cargo::rustc-check-cfg=cfg(rawcapi_layout_unmeasured)");
    println!("cargo::rerun-if-changed=src/layout/c_view.c");
    println!("cargo::rerun-if-changed=include/rawcapi.h");
    println!("cargo::rerun-if-env-changed=PYO3_PYTHON");
    println!("cargo::rerun-if-env-changed=PYO3_CONFIG_FILE");

    let config = pyo3_build_config::get();
    // `PY_VERSION_HEX`'s major.minor of the interpreter compiled for, for the module's
    // PyABIInfo on 3.15+ (src/capi/export.rs).
    let version = config.version();
    println!("cargo::rustc-env=RAWCAPI_PY_VERSION_HEX={:02X}{:02X}0000", version.major, version.minor);
    let Some(python) = config.executable() else {
        // A PYO3_CONFIG_FILE without an interpreter (the free-threaded `cargo check` in CI):
        // there are no headers to compile against, so the crate builds without the C side and
        // says so; the layout test cannot be run in that configuration.
        println!("cargo::warning=layout check skipped: the pyo3 config names no interpreter, so there is no Python.h to measure");
        println!("cargo::rustc-cfg=rawcapi_layout_unmeasured");
        return;
    };
    let include = python_include_dir(python);
    let mut build = cc::Build::new();
    build.file("src/layout/c_view.c").include(&include).include("include").warnings(true).cargo_warnings(true);
    if let PythonAbiKind::Stable(StableAbi::Abi3) = config.target_abi().kind() {
        // What an abi3 extension sees: the limited API of the oldest version it supports
        // (0x030B0000 for abi3-py311). PyTypeObject's fields are not part of it.
        let min = config.target_abi().version();
        build.define("Py_LIMITED_API", format!("0x{:02X}{:02X}0000", min.major, min.minor).as_str());
    }
    if let Err(err) = build.try_compile("rawcapi_layout") {
        panic!(
            "\nrawcapi's layout check could not compile src/layout/c_view.c against {} (Python.h from {}).\n\
             A C compiler (cc) and the interpreter's headers are required to build rawcapi.\n{err}\n",
            python,
            include.display()
        );
    }
}

/// The directory holding `Python.h` for `python`, as that interpreter reports it.
fn python_include_dir(python: &str) -> PathBuf {
    let script = "import sysconfig; print(sysconfig.get_paths()['include'])";
    let output = Command::new(python)
        .args(["-c", script])
        .output()
        .unwrap_or_else(|err| panic!("rawcapi's layout check could not run {python} to find Python.h: {err}"));
    if !output.status.success() {
        panic!("rawcapi's layout check: `{python} -c \"{script}\"` failed:\n{}", String::from_utf8_lossy(&output.stderr));
    }
    let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    if !dir.join("Python.h").is_file() {
        panic!(
            "rawcapi's layout check: {python} reports its headers in {}, but there is no Python.h there. \
             Install the interpreter's development headers (e.g. python3-dev).",
            dir.display()
        );
    }
    dir
}

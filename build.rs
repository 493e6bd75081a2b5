//! Build script: tell rustc which CPython it is compiling for.
//!
//! `pyo3_build_config::use_pyo3_cfgs()` runs the target interpreter once and emits `cfg` flags
//! such as `Py_3_12` or `Py_LIMITED_API`, so the source can say `#[cfg(Py_3_12)]` where the C
//! API differs between versions — the Rust counterpart of `#if PY_VERSION_HEX >= 0x030C0000`.
fn main() {
    pyo3_build_config::use_pyo3_cfgs();
}

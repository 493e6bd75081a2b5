//! Tell rustc which CPython it compiles for: `#[cfg(Py_3_12)]` in Rust is
//! `#if PY_VERSION_HEX >= 0x030C0000` in C.
fn main() {
    pyo3_build_config::use_pyo3_cfgs();
}

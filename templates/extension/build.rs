//! Tell rustc which CPython it compiles for: `cfg` flags such as `Py_3_12`, so the source can say
//! `#[cfg(Py_3_12)]` where C says `#if PY_VERSION_HEX >= 0x030C0000`. The interpreter is the one
//! in PYO3_PYTHON, which setup.py sets to the one running it.
fn main() {
    pyo3_build_config::use_pyo3_cfgs();
}

//! `DType::from_buffer_format` on arbitrary strings: never panics, and whatever it accepts is
//! one of the few spellings of a supported type (checked against a table written
//! independently of the parser, from the struct module's documentation).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rawcapi::kernels::array::dtype::DType;

/// The oracle: every accepted spelling on a little-endian LP64 machine (x86-64 Linux).
fn oracle(format: &str) -> Option<DType> {
    let (standard, code) = match format.as_bytes().first() {
        Some(b'@') => (false, &format[1..]),
        Some(b'=') | Some(b'<') => (true, &format[1..]),
        Some(b'>') | Some(b'!') => return None,
        _ => (false, format),
    };
    Some(match (standard, code) {
        (_, "?") => DType::Bool,
        (_, "B") => DType::UInt8,
        (_, "i") => DType::Int32,
        (true, "l") => DType::Int32,
        (false, "l") => DType::Int64,
        (_, "q") | (_, "n") => DType::Int64,
        (_, "f") => DType::Float32,
        (_, "d") => DType::Float64,
        (_, "Zd") => DType::Complex128,
        _ => return None,
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(format) = std::str::from_utf8(data) else { return };
    let parsed = DType::from_buffer_format(format);
    assert_eq!(parsed, oracle(format), "format {format:?}");
    if let Some(dtype) = parsed {
        assert_eq!(DType::from_buffer_format(dtype.buffer_format()), Some(dtype));
    }
});

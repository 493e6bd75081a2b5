//! Element types: names, sizes, buffer-protocol format strings and NumPy 2's promotion rules.

/// The element types an `Array` can hold — NumPy's names, native byte order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DType {
    Bool,
    UInt8,
    Int32,
    Int64,
    Float32,
    Float64,
    Complex128,
}

/// The kind of a Python scalar operand, for NEP 50 "weak" promotion: a Python `int`, `float` or
/// `complex` takes the Array's dtype where it can instead of widening it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PyScalarKind {
    Bool,
    Int,
    Float,
    Complex,
}

impl PyScalarKind {
    /// The kind of number a buffer-protocol format describes (`struct` module syntax, as PEP 3118
    /// extends it): `'?'` bool; `b B h H i I l L q Q n N` integers; `e f d g` floats; `Zf Zd
    /// Zg` complex. Any byte-order or size prefix (`@ = < > !`) is ignored: the kind does not
    /// depend on it. `None` for everything else (`'O'` objects, `'c'`/`'s'` bytes, structs).
    ///
    /// This is how an object that is neither a Python `bool`, `int`, `float` nor `complex` tells
    /// what number it is without rawcapi knowing its class: NumPy's scalars and 0-d arrays
    /// export a 0-d buffer whose format is their dtype's (`np.float32(1.5)` exports `'f'`,
    /// `np.array(True)` exports `'?'`).
    pub fn of_buffer_format(format: &str) -> Option<PyScalarKind> {
        let code = format.trim_start_matches(['@', '=', '<', '>', '!']);
        match code.as_bytes() {
            b"?" => Some(PyScalarKind::Bool),
            [b'b' | b'B' | b'h' | b'H' | b'i' | b'I' | b'l' | b'L' | b'q' | b'Q' | b'n' | b'N'] => Some(PyScalarKind::Int),
            [b'e' | b'f' | b'd' | b'g'] => Some(PyScalarKind::Float),
            [b'Z', b'f' | b'd' | b'g'] => Some(PyScalarKind::Complex),
            _ => None,
        }
    }
}

impl DType {
    pub const ALL: [DType; 7] =
        [DType::Bool, DType::UInt8, DType::Int32, DType::Int64, DType::Float32, DType::Float64, DType::Complex128];

    /// Bytes per element.
    pub fn itemsize(self) -> usize {
        match self {
            DType::Bool | DType::UInt8 => 1,
            DType::Int32 | DType::Float32 => 4,
            DType::Int64 | DType::Float64 => 8,
            DType::Complex128 => 16,
        }
    }

    /// NumPy's name: `'float64'`.
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::UInt8 => "uint8",
            DType::Int32 => "int32",
            DType::Int64 => "int64",
            DType::Float32 => "float32",
            DType::Float64 => "float64",
            DType::Complex128 => "complex128",
        }
    }

    pub fn from_name(name: &str) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.name() == name)
    }

    /// The struct-module format NumPy exports for this dtype (native order, native size).
    /// NumPy spells int64 `'l'` on LP64 platforms (C `long` is 64-bit there) and `'q'` elsewhere.
    pub fn buffer_format(self) -> &'static str {
        match self {
            DType::Bool => "?",
            DType::UInt8 => "B",
            DType::Int32 => "i",
            DType::Int64 => {
                if std::mem::size_of::<std::ffi::c_long>() == 8 {
                    "l"
                } else {
                    "q"
                }
            }
            DType::Float32 => "f",
            DType::Float64 => "d",
            DType::Complex128 => "Zd",
        }
    }

    /// Parse a buffer-protocol format string (PEP 3118 / the `struct` module's syntax) that
    /// names one of the supported types in *native byte order*. `None` for anything else
    /// (other types, byte-swapped data, structs, repeat counts).
    ///
    /// `'@'` (or no prefix) means native order *and native sizes*; `'='`, `'<'`, `'>'`, `'!'`
    /// mean standard sizes (`'l'` is then 4 bytes). `'<'`/`'>'` are accepted only when they are
    /// this machine's order.
    pub fn from_buffer_format(format: &str) -> Option<DType> {
        let little = cfg!(target_endian = "little");
        let (standard_sizes, code) = match format.as_bytes().first()? {
            b'@' => (false, &format[1..]),
            b'=' => (true, &format[1..]),
            b'<' if little => (true, &format[1..]),
            b'>' | b'!' if !little => (true, &format[1..]),
            b'<' | b'>' | b'!' => return None,
            _ => (false, format),
        };
        let native_long = std::mem::size_of::<std::ffi::c_long>();
        let size_of = |c: u8| -> usize {
            match c {
                b'i' | b'I' => 4,
                b'l' | b'L' => {
                    if standard_sizes {
                        4
                    } else {
                        native_long
                    }
                }
                b'q' | b'Q' => 8,
                b'n' | b'N' => std::mem::size_of::<isize>(),
                _ => 0,
            }
        };
        match code.as_bytes() {
            b"?" => Some(DType::Bool),
            b"B" => Some(DType::UInt8),
            [c @ (b'i' | b'l' | b'q' | b'n')] => match size_of(*c) {
                4 => Some(DType::Int32),
                8 => Some(DType::Int64),
                _ => None,
            },
            b"f" => Some(DType::Float32),
            b"d" => Some(DType::Float64),
            b"Zd" => Some(DType::Complex128),
            _ => None,
        }
    }

    pub fn is_integer(self) -> bool {
        matches!(self, DType::UInt8 | DType::Int32 | DType::Int64)
    }

    /// The values an integer dtype holds, as `i64` bounds (`None` for non-integers).
    pub fn int_range(self) -> Option<(i64, i64)> {
        match self {
            DType::UInt8 => Some((0, u8::MAX as i64)),
            DType::Int32 => Some((i32::MIN as i64, i32::MAX as i64)),
            DType::Int64 => Some((i64::MIN, i64::MAX)),
            _ => None,
        }
    }

    pub fn is_float(self) -> bool {
        matches!(self, DType::Float32 | DType::Float64)
    }

    /// The dtype both operands are converted to in a binary operation between two arrays:
    /// NumPy 2's `np.result_type(a, b)` restricted to these types.
    pub fn promote(a: DType, b: DType) -> DType {
        use DType::*;
        if a == b {
            return a;
        }
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        match (lo, hi) {
            (Bool, other) => other,
            (_, Complex128) => Complex128,
            (_, Float64) => Float64,
            // float32 holds uint8 exactly; int32/int64 need float64 (NumPy's rule).
            (UInt8, Float32) => Float32,
            (Int32 | Int64, Float32) => Float64,
            (UInt8, Int32) => Int32,
            (UInt8 | Int32, Int64) => Int64,
            _ => unreachable!("every ordered pair is covered: {lo:?}, {hi:?}"),
        }
    }

    /// NEP 50: the result dtype of an Array of `dtype` with a Python scalar of `kind`.
    /// `None` where NumPy would produce a dtype rawcapi does not have (float32 with a Python
    /// complex gives complex64 in NumPy).
    pub fn promote_with_scalar(dtype: DType, kind: PyScalarKind) -> Option<DType> {
        use DType::*;
        Some(match (dtype, kind) {
            (d, PyScalarKind::Bool) => d,
            (Bool, PyScalarKind::Int) => Int64,
            (d, PyScalarKind::Int) => d,
            (Bool | UInt8 | Int32 | Int64, PyScalarKind::Float) => Float64,
            (d, PyScalarKind::Float) => d,
            (Float32, PyScalarKind::Complex) => return None,
            (_, PyScalarKind::Complex) => Complex128,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DType::*;

    #[test]
    fn names_round_trip() {
        for d in DType::ALL {
            assert_eq!(DType::from_name(d.name()), Some(d));
            assert_eq!(DType::from_buffer_format(d.buffer_format()), Some(d));
        }
        assert_eq!(DType::from_name("float16"), None);
    }

    #[test]
    fn kind_of_a_buffer_format() {
        use PyScalarKind::*;
        for (format, kind) in [
            ("?", Some(Bool)),
            ("b", Some(Int)),
            ("<Q", Some(Int)),
            ("=l", Some(Int)),
            ("n", Some(Int)),
            ("e", Some(Float)),
            (">f", Some(Float)),
            ("d", Some(Float)),
            ("g", Some(Float)),
            ("Zf", Some(Complex)),
            ("<Zd", Some(Complex)),
            ("Zg", Some(Complex)),
            ("O", None),
            ("c", None),
            ("2d", None),
            ("T{d:x:}", None),
            ("Z", None),
            ("", None),
        ] {
            assert_eq!(PyScalarKind::of_buffer_format(format), kind, "{format:?}");
        }
    }

    #[test]
    fn formats_numpy_and_struct_spellings() {
        assert_eq!(DType::from_buffer_format("<d"), Some(Float64));
        assert_eq!(DType::from_buffer_format("=l"), Some(Int32)); // standard size: 4 bytes
        assert_eq!(DType::from_buffer_format("q"), Some(Int64));
        assert_eq!(DType::from_buffer_format("@i"), Some(Int32));
        assert_eq!(DType::from_buffer_format(">d"), None);
        assert_eq!(DType::from_buffer_format("h"), None);
        assert_eq!(DType::from_buffer_format("2d"), None);
        assert_eq!(DType::from_buffer_format(""), None);
    }

    #[test]
    fn promotion_matches_numpy_2() {
        // (a, b, np.result_type(a, b)) from NumPy 2.
        let table = [
            (Bool, UInt8, UInt8),
            (UInt8, Int32, Int32),
            (UInt8, Int64, Int64),
            (Int32, Int64, Int64),
            (UInt8, Float32, Float32),
            (Int32, Float32, Float64),
            (Int64, Float32, Float64),
            (Float32, Float64, Float64),
            (Float32, Complex128, Complex128),
            (Bool, Bool, Bool),
            (Int64, Complex128, Complex128),
        ];
        for (a, b, r) in table {
            assert_eq!(DType::promote(a, b), r, "{a:?} {b:?}");
            assert_eq!(DType::promote(b, a), r, "{b:?} {a:?}");
        }
    }

    #[test]
    fn nep50_scalars_are_weak() {
        assert_eq!(DType::promote_with_scalar(UInt8, PyScalarKind::Int), Some(UInt8));
        assert_eq!(DType::promote_with_scalar(Float32, PyScalarKind::Float), Some(Float32));
        assert_eq!(DType::promote_with_scalar(Int32, PyScalarKind::Float), Some(Float64));
        assert_eq!(DType::promote_with_scalar(Bool, PyScalarKind::Int), Some(Int64));
        assert_eq!(DType::promote_with_scalar(Float32, PyScalarKind::Complex), None);
    }
}

//! The elementwise loops behind `+ - * /`, the six comparisons, unary `-` and `abs`, and the
//! table that picks one by dtype — NumPy's ufunc loops and its type resolution, for rawcapi's
//! seven dtypes.
//!
//! A loop has the shape of NumPy's `PyUFuncGenericFunction`: base pointers, a count, and a byte
//! step per operand. It only ever sees one dtype per operand; the driver (`ufunc.rs`) walks the
//! N-d operands and casts where an operand's dtype is not the loop's.
//!
//! Results equal NumPy's bit for bit. Where that takes care:
//! - integers wrap on overflow (NumPy's C loops do), `abs(INT_MIN) == INT_MIN`;
//! - `/` on integers and bools is true division in float64;
//! - complex `*` is `(ar*br - ai*bi, ar*bi + ai*br)`, which NumPy's SIMD loop computes with a
//!   fused multiply-add (`fmaddsub`) on CPUs that have FMA: the same CPUs take the same path here;
//! - complex `/` is Smith's method exactly as NumPy's `@TYPE@_divide` in `loops.c.src` spells it;
//! - `abs(complex)` is NumPy's SIMD formula `sqrt(1 + (small/large)^2) * large` (fused on FMA
//!   CPUs), not libm's `hypot`, which rounds differently;
//! - complex `<` is NumPy's lexicographic order (`CLT` and friends in `loops.c.src`), NaN-aware.
//!
//! Contiguous operands (and a broadcast scalar beside a contiguous operand) take loops written
//! so the compiler vectorises them; they are compiled three times, for the baseline, AVX2+FMA and
//! AVX-512, and the table hands out the widest copy the CPU runs (checked at run time).

use std::fmt;
use std::marker::PhantomData;

use super::dtype::DType;
use super::element::{Bool, Element, C128};

/// The binary operations (NumPy's ufunc names in [`BinaryOp::ufunc_name`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinaryOp {
    Add,
    Subtract,
    Multiply,
    Divide,
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
}

impl BinaryOp {
    pub const ALL: [BinaryOp; 10] = [
        BinaryOp::Add,
        BinaryOp::Subtract,
        BinaryOp::Multiply,
        BinaryOp::Divide,
        BinaryOp::Equal,
        BinaryOp::NotEqual,
        BinaryOp::Less,
        BinaryOp::LessEqual,
        BinaryOp::Greater,
        BinaryOp::GreaterEqual,
    ];

    pub fn ufunc_name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Subtract => "subtract",
            BinaryOp::Multiply => "multiply",
            BinaryOp::Divide => "divide",
            BinaryOp::Equal => "equal",
            BinaryOp::NotEqual => "not_equal",
            BinaryOp::Less => "less",
            BinaryOp::LessEqual => "less_equal",
            BinaryOp::Greater => "greater",
            BinaryOp::GreaterEqual => "greater_equal",
        }
    }

    pub fn is_comparison(self) -> bool {
        !matches!(self, BinaryOp::Add | BinaryOp::Subtract | BinaryOp::Multiply | BinaryOp::Divide)
    }

    /// The comparison with its operands swapped (`a < b` is `b > a`), for reflected operators.
    pub fn swapped(self) -> BinaryOp {
        match self {
            BinaryOp::Less => BinaryOp::Greater,
            BinaryOp::LessEqual => BinaryOp::GreaterEqual,
            BinaryOp::Greater => BinaryOp::Less,
            BinaryOp::GreaterEqual => BinaryOp::LessEqual,
            other => other,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnaryOp {
    Negative,
    Absolute,
    /// Not an operator: copies its input, so `unary_into` can fill an output from a broadcast
    /// value (a comparison whose answer is known without looking at the elements).
    Copy,
}

impl UnaryOp {
    pub fn ufunc_name(self) -> &'static str {
        match self {
            UnaryOp::Negative => "negative",
            UnaryOp::Absolute => "absolute",
            UnaryOp::Copy => "positive",
        }
    }
}

/// An operation NumPy refuses for a dtype (a `TypeError`, with NumPy's own message).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoopError {
    BoolSubtract,
    BoolNegative,
}

impl fmt::Display for LoopError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LoopError::BoolSubtract => "numpy boolean subtract, the `-` operator, is not supported, use the bitwise_xor, the `^` operator, or the logical_xor function instead.",
            LoopError::BoolNegative => "The numpy boolean negative, the `-` operator, is not supported, use the `~` operator or the logical_not function instead.",
        })
    }
}

/// A binary inner loop: `out[i] = op(a[i], b[i])` for `i < n`, each operand stepping by its byte
/// step (0 for a broadcast operand). NumPy's `(char **args, npy_intp *dimensions, npy_intp *steps)`.
///
/// # Safety (for callers)
/// Every strided position of each operand for `n` elements is valid (readable inputs, writable
/// output), holds the loop's dtype, and the output overlaps an input only where it is the very
/// same element (in-place) — partial overlap is resolved by the driver before the call.
pub type BinaryLoop = unsafe fn(a: *const u8, b: *const u8, out: *mut u8, n: usize, steps: [isize; 3]);

/// A unary inner loop, as [`BinaryLoop`] with one input.
pub type UnaryLoop = unsafe fn(a: *const u8, out: *mut u8, n: usize, steps: [isize; 2]);

/// A chosen loop and the dtypes it works in: inputs are cast to `input`, results are `output`.
#[derive(Clone, Copy)]
pub struct BinaryKernel {
    pub op: BinaryOp,
    pub input: DType,
    pub output: DType,
    pub inner: BinaryLoop,
    /// The loop NumPy's inner loop falls back to when it finds its operands overlapping in
    /// memory or its output stride 0 (`loop_scalar`), where that gives different bits: complex
    /// multiply without fused multiply-adds. `None` where the fallback computes the same.
    pub overlap_fallback: Option<BinaryLoop>,
}

#[derive(Clone, Copy)]
pub struct UnaryKernel {
    pub op: UnaryOp,
    pub input: DType,
    pub output: DType,
    pub inner: UnaryLoop,
}

// ---------------------------------------------------------------------------------------------
// Per-dtype arithmetic: what one element of each operation is.

/// Arithmetic on one dtype's elements, as NumPy's C loops do it. `FMA` says whether the loop runs
/// where NumPy's SIMD loops fuse multiply-adds (only complex `*` and `abs` care).
pub trait Arith: Element {
    /// The dtype of `abs(x)` (float64 for complex128, the same dtype otherwise).
    type Abs: Element;
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul<const FMA: bool>(self, o: Self) -> Self;
    fn neg(self) -> Self;
    fn abs<const FMA: bool>(self) -> Self::Abs;
    fn eq(self, o: Self) -> bool;
    fn lt(self, o: Self) -> bool;
    fn le(self, o: Self) -> bool;
}

macro_rules! integer_arith {
    ($t:ty, $abs:expr) => {
        impl Arith for $t {
            type Abs = $t;
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                self.wrapping_sub(o)
            }
            #[inline(always)]
            fn mul<const FMA: bool>(self, o: Self) -> Self {
                self.wrapping_mul(o)
            }
            #[inline(always)]
            fn neg(self) -> Self {
                self.wrapping_neg()
            }
            #[inline(always)]
            fn abs<const FMA: bool>(self) -> Self {
                let f: fn($t) -> $t = $abs;
                f(self)
            }
            #[inline(always)]
            fn eq(self, o: Self) -> bool {
                self == o
            }
            #[inline(always)]
            fn lt(self, o: Self) -> bool {
                self < o
            }
            #[inline(always)]
            fn le(self, o: Self) -> bool {
                self <= o
            }
        }
    };
}
integer_arith!(u8, |x| x);
integer_arith!(i32, |x| x.wrapping_abs());
integer_arith!(i64, |x| x.wrapping_abs());

macro_rules! real_arith {
    ($t:ty) => {
        impl Arith for $t {
            type Abs = $t;
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                self + o
            }
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                self - o
            }
            #[inline(always)]
            fn mul<const FMA: bool>(self, o: Self) -> Self {
                self * o
            }
            #[inline(always)]
            fn neg(self) -> Self {
                -self
            }
            #[inline(always)]
            fn abs<const FMA: bool>(self) -> Self {
                self.abs()
            }
            #[inline(always)]
            fn eq(self, o: Self) -> bool {
                self == o
            }
            #[inline(always)]
            fn lt(self, o: Self) -> bool {
                self < o
            }
            #[inline(always)]
            fn le(self, o: Self) -> bool {
                self <= o
            }
        }
    };
}
real_arith!(f32);
real_arith!(f64);

impl Arith for Bool {
    type Abs = Bool;
    /// NumPy's bool `+` is logical or.
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        Bool((self.0 != 0 || o.0 != 0) as u8)
    }
    /// Never reached: `resolve_binary` refuses bool subtract as NumPy does. Defined (as xor) so
    /// the trait is total.
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        Bool(((self.0 != 0) != (o.0 != 0)) as u8)
    }
    /// NumPy's bool `*` is logical and.
    #[inline(always)]
    fn mul<const FMA: bool>(self, o: Self) -> Self {
        Bool((self.0 != 0 && o.0 != 0) as u8)
    }
    /// Never reached: `resolve_unary` refuses bool negative as NumPy does.
    #[inline(always)]
    fn neg(self) -> Self {
        Bool((self.0 == 0) as u8)
    }
    #[inline(always)]
    fn abs<const FMA: bool>(self) -> Self {
        Bool((self.0 != 0) as u8)
    }
    #[inline(always)]
    fn eq(self, o: Self) -> bool {
        (self.0 != 0) == (o.0 != 0)
    }
    #[inline(always)]
    fn lt(self, o: Self) -> bool {
        (self.0 == 0) & (o.0 != 0)
    }
    #[inline(always)]
    fn le(self, o: Self) -> bool {
        (self.0 == 0) | (o.0 != 0)
    }
}

impl Arith for C128 {
    type Abs = f64;
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        C128 { re: self.re + o.re, im: self.im + o.im }
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        C128 { re: self.re - o.re, im: self.im - o.im }
    }
    /// NumPy's `MulComplex`: with FMA, `fmaddsub(ar, b, ai * swap(b))` — the products `ai*bi`
    /// and `ai*br` are rounded, then fused into `ar*br` and `ar*bi`.
    #[inline(always)]
    fn mul<const FMA: bool>(self, o: Self) -> Self {
        if FMA {
            C128 { re: self.re.mul_add(o.re, -(self.im * o.im)), im: self.re.mul_add(o.im, self.im * o.re) }
        } else {
            C128 { re: self.re * o.re - self.im * o.im, im: self.re * o.im + self.im * o.re }
        }
    }
    #[inline(always)]
    fn neg(self) -> Self {
        C128 { re: -self.re, im: -self.im }
    }
    /// NumPy's SIMD complex absolute (`loops_unary_complex`): infinities win over NaN, NaN over
    /// the rest, then `sqrt(1 + r*r) * larger` with `r = smaller / larger`.
    #[inline(always)]
    fn abs<const FMA: bool>(self) -> f64 {
        let inf = f64::INFINITY;
        let (mut re, mut im) = (self.re.abs(), self.im.abs());
        let (re_inf, im_inf) = (re == inf, im == inf);
        if re_inf {
            im = inf;
        }
        if im_inf {
            re = inf;
        }
        let (re_nan, im_nan) = (re.is_nan(), im.is_nan());
        if re_nan {
            im = f64::NAN;
        }
        if im_nan {
            re = f64::NAN;
        }
        let larger = re.max(im);
        let smaller = im.min(re);
        let ratio = if larger == 0.0 || smaller == inf { 0.0 } else { smaller / larger };
        let one_plus = if FMA { ratio.mul_add(ratio, 1.0) } else { ratio * ratio + 1.0 };
        one_plus.sqrt() * larger
    }
    #[inline(always)]
    fn eq(self, o: Self) -> bool {
        self.re == o.re && self.im == o.im
    }
    /// `CLT(xr,xi,yr,yi) = (xr < yr && !isnan(xi) && !isnan(yi)) || (xr == yr && xi < yi)`.
    #[inline(always)]
    fn lt(self, o: Self) -> bool {
        (self.re < o.re && !self.im.is_nan() && !o.im.is_nan()) || (self.re == o.re && self.im < o.im)
    }
    /// `CLE`, as `CLT` with `<=` on the imaginary parts.
    #[inline(always)]
    fn le(self, o: Self) -> bool {
        (self.re < o.re && !self.im.is_nan() && !o.im.is_nan()) || (self.re == o.re && self.im <= o.im)
    }
}

/// NumPy's complex true division (`@TYPE@_divide` in `loops.c.src`): Smith's method, with a
/// zero divisor giving the IEEE infinities/NaNs of dividing each part by zero.
#[inline(always)]
pub fn complex_divide(a: C128, b: C128) -> C128 {
    let (in1r, in1i, in2r, in2i) = (a.re, a.im, b.re, b.im);
    let (in2r_abs, in2i_abs) = (in2r.abs(), in2i.abs());
    if in2r_abs >= in2i_abs {
        if in2r_abs == 0.0 && in2i_abs == 0.0 {
            C128 { re: in1r / in2r_abs, im: in1i / in2i_abs }
        } else {
            let rat = in2i / in2r;
            let scl = 1.0 / (in2r + in2i * rat);
            C128 { re: (in1r + in1i * rat) * scl, im: (in1i - in1r * rat) * scl }
        }
    } else {
        let rat = in2r / in2i;
        let scl = 1.0 / (in2i + in2r * rat);
        C128 { re: (in1r * rat + in1i) * scl, im: (in1i * rat - in1r) * scl }
    }
}

// ---------------------------------------------------------------------------------------------
// One zero-sized type per (operation, dtype): the loop bodies the table hands out.

/// An elementwise binary operation with fixed operand and result types.
pub trait BinaryFn {
    type A: Element;
    type B: Element;
    type O: Element;
    fn apply<const FMA: bool>(a: Self::A, b: Self::B) -> Self::O;
}

pub trait UnaryFn {
    type A: Element;
    type O: Element;
    fn apply<const FMA: bool>(a: Self::A) -> Self::O;
}

macro_rules! same_type_binary {
    ($name:ident, |$a:ident, $b:ident| $body:expr) => {
        pub struct $name<T>(PhantomData<T>);
        impl<T: Arith> BinaryFn for $name<T> {
            type A = T;
            type B = T;
            type O = T;
            #[inline(always)]
            fn apply<const FMA: bool>($a: T, $b: T) -> T {
                $body
            }
        }
    };
}
same_type_binary!(AddFn, |a, b| a.add(b));
same_type_binary!(SubFn, |a, b| a.sub(b));
same_type_binary!(MulFn, |a, b| a.mul::<FMA>(b));

/// Float true division in the float's own precision.
pub struct DivFloatFn<T>(PhantomData<T>);
macro_rules! float_div {
    ($t:ty) => {
        impl BinaryFn for DivFloatFn<$t> {
            type A = $t;
            type B = $t;
            type O = $t;
            #[inline(always)]
            fn apply<const FMA: bool>(a: $t, b: $t) -> $t {
                a / b
            }
        }
    };
}
float_div!(f32);
float_div!(f64);

pub struct DivComplexFn;
impl BinaryFn for DivComplexFn {
    type A = C128;
    type B = C128;
    type O = C128;
    #[inline(always)]
    fn apply<const FMA: bool>(a: C128, b: C128) -> C128 {
        complex_divide(a, b)
    }
}

/// Integer (and bool) true division: both operands converted to float64, as NumPy's `'ll->d'`.
pub struct DivToF64Fn<T>(PhantomData<T>);
impl<T: Element> BinaryFn for DivToF64Fn<T> {
    type A = T;
    type B = T;
    type O = f64;
    #[inline(always)]
    fn apply<const FMA: bool>(a: T, b: T) -> f64 {
        a.cast::<f64>() / b.cast::<f64>()
    }
}

/// Comparison `CMP` (an index into [`CMP_OPS`]) with a bool result.
pub struct CmpFn<T, const CMP: u8>(PhantomData<T>);
const CMP_EQ: u8 = 0;
const CMP_NE: u8 = 1;
const CMP_LT: u8 = 2;
const CMP_LE: u8 = 3;
const CMP_GT: u8 = 4;
const CMP_GE: u8 = 5;
impl<T: Arith, const CMP: u8> BinaryFn for CmpFn<T, CMP> {
    type A = T;
    type B = T;
    type O = Bool;
    #[inline(always)]
    fn apply<const FMA: bool>(a: T, b: T) -> Bool {
        Bool(match CMP {
            CMP_EQ => a.eq(b),
            CMP_NE => !a.eq(b),
            CMP_LT => a.lt(b),
            CMP_LE => a.le(b),
            CMP_GT => b.lt(a),
            _ => b.le(a),
        } as u8)
    }
}

pub struct NegFn<T>(PhantomData<T>);
impl<T: Arith> UnaryFn for NegFn<T> {
    type A = T;
    type O = T;
    #[inline(always)]
    fn apply<const FMA: bool>(a: T) -> T {
        a.neg()
    }
}

/// `abs(complex)` through libm's `hypot`: NumPy's scalar fallback (`npy_hypot`), which it takes
/// instead of the SIMD formula when the loop's strides are negative (its SIMD loads only take
/// non-negative strides). See [`complex_abs_takes_hypot`].
pub struct AbsHypotFn;
impl UnaryFn for AbsHypotFn {
    type A = C128;
    type O = f64;
    #[inline(always)]
    fn apply<const FMA: bool>(a: C128) -> f64 {
        a.re.hypot(a.im)
    }
}

/// Whether NumPy computes `abs` of this complex128 operand with `hypot` rather than its SIMD
/// formula. An operand with one real dimension (a 1-d array, or `(1, n)`) takes NumPy's
/// "trivial" loop, which hands the inner loop the operand's own stride; the SIMD loads refuse a
/// negative one, so a reversed operand goes to `npy_hypot`. An operand of more dimensions goes
/// through NumPy's iterator, which flips axes with negative strides (for the input and the
/// output it allocates alike), so its loop sees positive strides and runs the SIMD formula.
/// (Measured against NumPy 2.4 on this machine.)
pub fn complex_abs_takes_hypot(shape: &[usize], strides: &[isize]) -> bool {
    if let ([_], [s]) = (shape, strides) {
        return *s < 0;
    }
    let mut long = shape.iter().zip(strides).filter(|&(&n, _)| n > 1);
    match (long.next(), long.next()) {
        (Some((_, &s)), None) => s < 0,
        _ => false,
    }
}

/// The complex `abs` loop that uses `hypot` (see [`complex_abs_takes_hypot`]).
pub fn complex_abs_hypot() -> UnaryKernel {
    UnaryKernel { op: UnaryOp::Absolute, input: DType::Complex128, output: DType::Float64, inner: unary_loop_of::<AbsHypotFn>() }
}

/// The identity (for filling an output from a broadcast value).
pub struct CopyFn<T>(PhantomData<T>);
impl<T: Element> UnaryFn for CopyFn<T> {
    type A = T;
    type O = T;
    #[inline(always)]
    fn apply<const FMA: bool>(a: T) -> T {
        a
    }
}

pub struct AbsFn<T>(PhantomData<T>);
impl<T: Arith> UnaryFn for AbsFn<T> {
    type A = T;
    type O = T::Abs;
    #[inline(always)]
    fn apply<const FMA: bool>(a: T) -> T::Abs {
        a.abs::<FMA>()
    }
}

// ---------------------------------------------------------------------------------------------
// The loops: contiguous and scalar-broadcast fast paths, then the general strided loop.

/// The body shared by every binary loop. The fast paths index with `i` from one base pointer
/// per operand, which is the loop shape LLVM's vectoriser turns into SIMD (it checks at run time
/// that the output does not overlap an input). An output that *is* an input (in-place `a += b`)
/// would fail that check and run scalar, so it gets its own path that reads and writes through
/// the same pointer, which the vectoriser accepts.
#[inline(always)]
unsafe fn binary_body<F: BinaryFn, const FMA: bool>(a: *const u8, b: *const u8, out: *mut u8, n: usize, steps: [isize; 3]) {
    let [sa, sb, so] = steps;
    let (ea, eb, eo) = (size_of::<F::A>() as isize, size_of::<F::B>() as isize, size_of::<F::O>() as isize);
    let (pa, pb, po) = (a as *const F::A, b as *const F::B, out as *mut F::O);
    // SAFETY (all blocks): the caller guarantees every strided position below `n` is valid; the
    // fast paths are those positions written with element-sized steps.
    unsafe {
        if so == eo {
            if sa == ea && sb == eb {
                if std::ptr::eq(out as *const u8, a) && ea == eo {
                    let io = out as *mut F::A;
                    for i in 0..n {
                        let r = F::apply::<FMA>(io.add(i).read_unaligned(), pb.add(i).read_unaligned());
                        (io.add(i) as *mut F::O).write_unaligned(r);
                    }
                } else if std::ptr::eq(out as *const u8, b) && eb == eo {
                    let io = out as *mut F::B;
                    for i in 0..n {
                        let r = F::apply::<FMA>(pa.add(i).read_unaligned(), io.add(i).read_unaligned());
                        (io.add(i) as *mut F::O).write_unaligned(r);
                    }
                } else {
                    for i in 0..n {
                        po.add(i).write_unaligned(F::apply::<FMA>(pa.add(i).read_unaligned(), pb.add(i).read_unaligned()));
                    }
                }
                return;
            }
            if sa == 0 && sb == eb {
                let x = pa.read_unaligned();
                if std::ptr::eq(out as *const u8, b) && eb == eo {
                    let io = out as *mut F::B;
                    for i in 0..n {
                        let r = F::apply::<FMA>(x, io.add(i).read_unaligned());
                        (io.add(i) as *mut F::O).write_unaligned(r);
                    }
                } else {
                    for i in 0..n {
                        po.add(i).write_unaligned(F::apply::<FMA>(x, pb.add(i).read_unaligned()));
                    }
                }
                return;
            }
            if sb == 0 && sa == ea {
                let y = pb.read_unaligned();
                if std::ptr::eq(out as *const u8, a) && ea == eo {
                    let io = out as *mut F::A;
                    for i in 0..n {
                        let r = F::apply::<FMA>(io.add(i).read_unaligned(), y);
                        (io.add(i) as *mut F::O).write_unaligned(r);
                    }
                } else {
                    for i in 0..n {
                        po.add(i).write_unaligned(F::apply::<FMA>(pa.add(i).read_unaligned(), y));
                    }
                }
                return;
            }
        }
        for i in 0..n as isize {
            let x = (a.offset(i * sa) as *const F::A).read_unaligned();
            let y = (b.offset(i * sb) as *const F::B).read_unaligned();
            (out.offset(i * so) as *mut F::O).write_unaligned(F::apply::<FMA>(x, y));
        }
    }
}

#[inline(always)]
unsafe fn unary_body<F: UnaryFn, const FMA: bool>(a: *const u8, out: *mut u8, n: usize, steps: [isize; 2]) {
    let [sa, so] = steps;
    let (ea, eo) = (size_of::<F::A>() as isize, size_of::<F::O>() as isize);
    // SAFETY: as in `binary_body`.
    unsafe {
        if sa == ea && so == eo {
            let (pa, po) = (a as *const F::A, out as *mut F::O);
            if std::ptr::eq(out as *const u8, a) {
                for i in 0..n {
                    let r = F::apply::<FMA>(pa.add(i).read_unaligned());
                    (pa.add(i) as *mut F::O).write_unaligned(r);
                }
            } else {
                for i in 0..n {
                    po.add(i).write_unaligned(F::apply::<FMA>(pa.add(i).read_unaligned()));
                }
            }
            return;
        }
        for i in 0..n as isize {
            let x = (a.offset(i * sa) as *const F::A).read_unaligned();
            (out.offset(i * so) as *mut F::O).write_unaligned(F::apply::<FMA>(x));
        }
    }
}

/// The baseline copy (SSE2 on x86_64): no fused multiply-add, as NumPy's baseline loops.
unsafe fn binary_baseline<F: BinaryFn>(a: *const u8, b: *const u8, out: *mut u8, n: usize, steps: [isize; 3]) {
    // SAFETY: forwarded from the caller.
    unsafe { binary_body::<F, false>(a, b, out, n, steps) }
}

unsafe fn unary_baseline<F: UnaryFn>(a: *const u8, out: *mut u8, n: usize, steps: [isize; 2]) {
    // SAFETY: forwarded from the caller.
    unsafe { unary_body::<F, false>(a, out, n, steps) }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::*;

    /// The same loops compiled for AVX2 with FMA: wider vectors, and the fused complex multiply
    /// NumPy's AVX2/AVX-512 loops use. Only handed out after `has_avx2_fma()`.
    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn binary_avx2<F: BinaryFn>(a: *const u8, b: *const u8, out: *mut u8, n: usize, steps: [isize; 3]) {
        // SAFETY: forwarded from the caller; the CPU has AVX2 and FMA (checked by the table).
        unsafe { binary_body::<F, true>(a, b, out, n, steps) }
    }

    #[target_feature(enable = "avx2,fma")]
    pub unsafe fn unary_avx2<F: UnaryFn>(a: *const u8, out: *mut u8, n: usize, steps: [isize; 2]) {
        // SAFETY: as above.
        unsafe { unary_body::<F, true>(a, out, n, steps) }
    }

    /// And for AVX-512 (the level NumPy dispatches to on such CPUs, `X86_V4`): 512-bit vectors,
    /// and mask registers, which make comparisons that pack results into bytes cheap.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    pub unsafe fn binary_avx512<F: BinaryFn>(a: *const u8, b: *const u8, out: *mut u8, n: usize, steps: [isize; 3]) {
        // SAFETY: forwarded from the caller; the CPU has these features (checked by the table).
        unsafe { binary_body::<F, true>(a, b, out, n, steps) }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma")]
    pub unsafe fn unary_avx512<F: UnaryFn>(a: *const u8, out: *mut u8, n: usize, steps: [isize; 2]) {
        // SAFETY: as above.
        unsafe { unary_body::<F, true>(a, out, n, steps) }
    }

    pub fn has_avx2_fma() -> bool {
        // The macro caches the CPUID answer in a static; this is a load and a test.
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }

    pub fn has_avx512() -> bool {
        has_avx2_fma()
            && std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512dq")
    }
}

/// The loop for `F` on this CPU (NumPy's `NPY_CPU_DISPATCH_CALL`).
fn binary_loop_of<F: BinaryFn>() -> BinaryLoop {
    #[cfg(target_arch = "x86_64")]
    {
        if x86::has_avx512() {
            return x86::binary_avx512::<F>;
        }
        if x86::has_avx2_fma() {
            return x86::binary_avx2::<F>;
        }
    }
    binary_baseline::<F>
}

fn unary_loop_of<F: UnaryFn>() -> UnaryLoop {
    #[cfg(target_arch = "x86_64")]
    {
        if x86::has_avx512() {
            return x86::unary_avx512::<F>;
        }
        if x86::has_avx2_fma() {
            return x86::unary_avx2::<F>;
        }
    }
    unary_baseline::<F>
}

// ---------------------------------------------------------------------------------------------
// The table. `with_elem_type!` (element.rs) expands a body once per dtype, with `T` bound to
// that dtype's element type.

/// The loop for `a op b` with operands of dtypes `a` and `b`: NumPy's type resolution (promote
/// both to `np.result_type(a, b)`), then its loop for that dtype.
pub fn resolve_binary(op: BinaryOp, a: DType, b: DType) -> Result<BinaryKernel, LoopError> {
    let t = DType::promote(a, b);
    let (inner, output): (BinaryLoop, DType) = match op {
        BinaryOp::Add => (crate::with_elem_type!(t, T => binary_loop_of::<AddFn<T>>()), t),
        BinaryOp::Subtract if t == DType::Bool => return Err(LoopError::BoolSubtract),
        BinaryOp::Subtract => (crate::with_elem_type!(t, T => binary_loop_of::<SubFn<T>>()), t),
        BinaryOp::Multiply => (crate::with_elem_type!(t, T => binary_loop_of::<MulFn<T>>()), t),
        BinaryOp::Divide => match t {
            DType::Float32 => (binary_loop_of::<DivFloatFn<f32>>(), t),
            DType::Float64 => (binary_loop_of::<DivFloatFn<f64>>(), t),
            DType::Complex128 => (binary_loop_of::<DivComplexFn>(), t),
            _ => (crate::with_elem_type!(t, T => binary_loop_of::<DivToF64Fn<T>>()), DType::Float64),
        },
        BinaryOp::Equal => (crate::with_elem_type!(t, T => binary_loop_of::<CmpFn<T, CMP_EQ>>()), DType::Bool),
        BinaryOp::NotEqual => (crate::with_elem_type!(t, T => binary_loop_of::<CmpFn<T, CMP_NE>>()), DType::Bool),
        BinaryOp::Less => (crate::with_elem_type!(t, T => binary_loop_of::<CmpFn<T, CMP_LT>>()), DType::Bool),
        BinaryOp::LessEqual => (crate::with_elem_type!(t, T => binary_loop_of::<CmpFn<T, CMP_LE>>()), DType::Bool),
        BinaryOp::Greater => (crate::with_elem_type!(t, T => binary_loop_of::<CmpFn<T, CMP_GT>>()), DType::Bool),
        BinaryOp::GreaterEqual => (crate::with_elem_type!(t, T => binary_loop_of::<CmpFn<T, CMP_GE>>()), DType::Bool),
    };
    // NumPy's SIMD complex multiply is fused on FMA CPUs, its scalar fallback is not.
    let overlap_fallback = (op == BinaryOp::Multiply && t == DType::Complex128).then_some(binary_baseline::<MulFn<C128>> as BinaryLoop);
    Ok(BinaryKernel { op, input: t, output, inner, overlap_fallback })
}

pub fn resolve_unary(op: UnaryOp, a: DType) -> Result<UnaryKernel, LoopError> {
    let (inner, output): (UnaryLoop, DType) = match op {
        UnaryOp::Negative if a == DType::Bool => return Err(LoopError::BoolNegative),
        UnaryOp::Negative => (crate::with_elem_type!(a, T => unary_loop_of::<NegFn<T>>()), a),
        UnaryOp::Absolute => {
            let out = if a == DType::Complex128 { DType::Float64 } else { a };
            (crate::with_elem_type!(a, T => unary_loop_of::<AbsFn<T>>()), out)
        }
        UnaryOp::Copy => (crate::with_elem_type!(a, T => unary_loop_of::<CopyFn<T>>()), a),
    };
    Ok(UnaryKernel { op, input: a, output, inner })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<A: Element, B: Element, O: Element + Default>(op: BinaryOp, a: &[A], b: &[B]) -> Vec<O> {
        let k = resolve_binary(op, A::DTYPE, B::DTYPE).unwrap();
        assert_eq!((k.input, k.output), (A::DTYPE, O::DTYPE));
        let mut out = vec![O::default(); a.len()];
        let steps = [size_of::<A>() as isize, if b.len() == 1 { 0 } else { size_of::<B>() as isize }, size_of::<O>() as isize];
        // SAFETY: `a` is read for a.len() elements at step size_of::<A>, `out` was just allocated
        // with a.len() elements of O and is written at size_of::<O>; `out` is a fresh Vec, so it
        // overlaps neither input. The asserts above pin A and O to the loop's input/output dtypes.
        // NOT checked here, and required by BinaryLoop, so every caller of this safe helper must
        // keep them (all tests below do): B::DTYPE == A::DTYPE (the loop reads `b` as the
        // promoted dtype, which equals A's), and b.len() is 1 (step 0, only b[0] read) or a.len().
        unsafe { (k.inner)(a.as_ptr() as *const u8, b.as_ptr() as *const u8, out.as_mut_ptr() as *mut u8, a.len(), steps) };
        out
    }

    #[test]
    fn integers_wrap() {
        assert_eq!(run::<u8, u8, u8>(BinaryOp::Add, &[250, 1], &[10, 2]), vec![4, 3]);
        assert_eq!(run::<i32, i32, i32>(BinaryOp::Multiply, &[i32::MAX], &[2]), vec![-2]);
        assert_eq!(run::<i64, i64, i64>(BinaryOp::Subtract, &[i64::MIN], &[1]), vec![i64::MAX]);
        // True division of integers is float64 division: -7 / 2 is -3.5, not -3 or -4.
        assert_eq!(run::<i32, i32, f64>(BinaryOp::Divide, &[1, -7], &[2, 2]), vec![0.5, -3.5]);
        let d = run::<i32, i32, f64>(BinaryOp::Divide, &[1, -7, 0], &[2, 0, 0]);
        assert_eq!((d[0], d[1]), (0.5, f64::NEG_INFINITY));
        assert!(d[2].is_nan());
    }

    #[test]
    fn bools_are_logical() {
        let t = Bool(1);
        let f = Bool(0);
        assert_eq!(run::<Bool, Bool, Bool>(BinaryOp::Add, &[t, f, f], &[f, t, f]), vec![t, t, f]);
        assert_eq!(run::<Bool, Bool, Bool>(BinaryOp::Multiply, &[t, t, f], &[t, f, f]), vec![t, f, f]);
        assert_eq!(resolve_binary(BinaryOp::Subtract, DType::Bool, DType::Bool).err(), Some(LoopError::BoolSubtract));
        assert_eq!(resolve_unary(UnaryOp::Negative, DType::Bool).err(), Some(LoopError::BoolNegative));
        assert_eq!(resolve_binary(BinaryOp::Divide, DType::Bool, DType::Bool).unwrap().output, DType::Float64);
    }

    #[test]
    fn nan_comparisons() {
        let n = f64::NAN;
        assert_eq!(run::<f64, f64, Bool>(BinaryOp::Equal, &[n, 1.0], &[n, 1.0]), vec![Bool(0), Bool(1)]);
        assert_eq!(run::<f64, f64, Bool>(BinaryOp::NotEqual, &[n], &[n]), vec![Bool(1)]);
        assert_eq!(run::<f64, f64, Bool>(BinaryOp::LessEqual, &[n], &[1.0]), vec![Bool(0)]);
    }

    #[test]
    fn complex_order_and_division() {
        let c = |re, im| C128 { re, im };
        let lt = run::<C128, C128, Bool>(BinaryOp::Less, &[c(1.0, 5.0), c(1.0, 1.0), c(1.0, f64::NAN)], &[c(2.0, 0.0), c(1.0, 2.0), c(2.0, 0.0)]);
        assert_eq!(lt, vec![Bool(1), Bool(1), Bool(0)]);
        let q = run::<C128, C128, C128>(BinaryOp::Divide, &[c(1.0, 2.0), c(1.0, 1.0)], &[c(3.0, 4.0), c(0.0, 0.0)]);
        assert_eq!(q[0], complex_divide(c(1.0, 2.0), c(3.0, 4.0)));
        assert!((q[0].re - 0.44).abs() < 1e-15 && (q[0].im - 0.08).abs() < 1e-15);
        assert!(q[1].re.is_infinite() && q[1].im.is_infinite());
    }

    #[test]
    fn complex_abs_special_values() {
        let c = |re, im| C128 { re, im };
        assert_eq!(c(3.0, 4.0).abs::<true>(), 5.0);
        assert_eq!(c(f64::NAN, f64::INFINITY).abs::<true>(), f64::INFINITY);
        assert!(c(f64::NAN, 1.0).abs::<false>().is_nan());
        assert_eq!(c(0.0, -0.0).abs::<false>(), 0.0);
    }

    #[test]
    fn in_place_and_broadcast_paths_agree_with_strided() {
        let a: Vec<f64> = (0..37).map(|i| i as f64 * 0.7 - 3.0).collect();
        let b: Vec<f64> = (0..37).map(|i| 1.0 / (i as f64 + 0.5)).collect();
        let expect: Vec<f64> = a.iter().zip(&b).map(|(x, y)| x * y).collect();
        assert_eq!(run::<f64, f64, f64>(BinaryOp::Multiply, &a, &b), expect);
        let k = resolve_binary(BinaryOp::Multiply, DType::Float64, DType::Float64).unwrap();
        let mut io = a.clone();
        // SAFETY: `io` and `b` each hold 37 f64 and live to the end of the test; steps of 8 bytes
        // cover exactly those 37 elements. The output is exactly the same elements as input `a`
        // (in-place, which BinaryLoop allows) and `b` is a separate Vec. Vec::as_ptr and
        // as_mut_ptr do not create references, so the read pointer stays valid alongside the
        // write pointer.
        unsafe { (k.inner)(io.as_ptr() as *const u8, b.as_ptr() as *const u8, io.as_mut_ptr() as *mut u8, 37, [8, 8, 8]) };
        assert_eq!(io, expect);
        let scaled: Vec<f64> = run::<f64, f64, f64>(BinaryOp::Multiply, &a, &[2.0]);
        assert_eq!(scaled, a.iter().map(|x| x * 2.0).collect::<Vec<_>>());
    }
}

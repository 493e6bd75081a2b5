//! Turning an argument into a raw strided description of its memory, for the heavy functions.
//!
//! `matmul(a, b)` and `fft(x)` take an `Array`, any buffer-protocol object (a NumPy array in any
//! layout, a `memoryview`, `array.array`...) or a nested sequence of numbers. Whatever the source,
//! the result is a kernel [`ArrayView`] plus the thing that keeps its memory alive — the Array
//! (borrowed from the caller's arguments), the filled `Py_buffer`, or a fresh Array copied from a
//! list — held in [`Operand`] until the call returns.
//!
//! An exporter is read by the same code as a ufunc operand and `Array(obj)`
//! ([`BufferArray`](crate::array::operand::BufferArray)); what it cannot read is refused in
//! `Array()`'s words, as the nested-sequence path (which goes through `Array(obj)`) is.

use pyo3_ffi::{PyObject, PyTypeObject};

use crate::capi::gil::Python;
use crate::array::construct::{from_object, refuse_buffer};
use crate::array::object::{shape_text, ArrayObject, Pin};
use crate::array::operand::{BufferArray, UnreadableBuffer};
use crate::capi::buffer::Buffer;
use crate::capi::error::{raise, Exc, PyResult};
use crate::capi::object::{type_name, Owned};
use crate::kernels::array::dtype::DType;
use crate::kernels::array::view::{ArrayView, ArrayViewMut};

/// What keeps an operand's memory alive, and its layout fixed, while a kernel reads it.
enum Keeper<'a> {
    /// An Array argument (borrowed: the caller's argument array holds it for the call), pinned.
    Array(#[allow(dead_code)] Pin<'a>),
    /// The filled buffer of another exporter; released when the operand drops.
    Buffer(#[allow(dead_code)] Buffer),
    /// A new Array converted from a sequence (owned; dropped with the operand, after its pin:
    /// fields drop in order).
    Converted(#[allow(dead_code)] Pin<'a>, #[allow(dead_code)] Owned),
}

/// An argument's memory as dtype, shape, byte strides and a data pointer.
pub struct Operand<'a> {
    _keeper: Keeper<'a>,
    pub data: *mut u8,
    pub dtype: DType,
    pub shape: Vec<usize>,
    pub strides: Vec<isize>,
    pub writable: bool,
}

impl<'a> Operand<'a> {
    /// Read access to `obj`: an Array as it is, an exporter through `PyBUF_RECORDS_RO` (shape,
    /// strides, format; any layout), anything else through `Array(obj)` (nested sequences).
    ///
    /// # Safety
    /// `obj` is valid (borrowed) and outlives the operand; `array_type` is the module's Array
    /// type; GIL held.
    pub unsafe fn read(py: Python<'_>, obj: *mut PyObject, array_type: *mut PyTypeObject) -> PyResult<Operand<'a>> {
        // SAFETY (whole body): GIL held, `obj` valid.
        unsafe {
            if let Some(a) = ArrayObject::downcast(obj) {
                return Ok(Self::of_array(a.pin(), Keeper::Array));
            }
            if pyo3_ffi::PyObject_CheckBuffer(obj) != 0 {
                return Self::of_buffer(py, BufferArray::request(py, obj, pyo3_ffi::PyBUF_RECORDS_RO)?, false);
            }
            let converted = from_object(py, array_type, obj, None)?;
            // The new Array lives in the operand, so the pin's borrow of it stays valid.
            let pin = ArrayObject::from_ptr(converted.as_ptr()).pin();
            let mut operand = Self::of_array(pin, |pin| Keeper::Converted(pin, converted));
            operand.writable = false;
            Ok(operand)
        }
    }

    /// Write access to `obj` (an `out=` argument): a writable Array, or an exporter that grants
    /// `PyBUF_RECORDS` (writable, with strides and format). Anything else is a TypeError.
    ///
    /// # Safety
    /// As for [`Operand::read`].
    pub unsafe fn write(py: Python<'_>, obj: *mut PyObject, what: &str) -> PyResult<Operand<'a>> {
        // SAFETY (whole body): GIL held, `obj` valid.
        unsafe {
            if let Some(a) = ArrayObject::downcast(obj) {
                let pin = a.pin();
                pin.view_mut(py)?;
                return Ok(Self::of_array(pin, Keeper::Array));
            }
            if pyo3_ffi::PyObject_CheckBuffer(obj) == 0 {
                return Err(raise(
                    py,
                    Exc::TypeError,
                    &format!("{what}: out must be an Array or a writable buffer-protocol object, not '{}'", type_name(py, obj)),
                ));
            }
            Self::of_buffer(py, BufferArray::request(py, obj, pyo3_ffi::PyBUF_RECORDS)?, true)
        }
    }

    /// The pinned Array's layout, copied, with the pin moved into the keeper.
    fn of_array(pin: Pin<'a>, keeper: impl FnOnce(Pin<'a>) -> Keeper<'a>) -> Operand<'a> {
        let (data, dtype, writable) = (pin.data(), pin.array().dtype(), pin.array().is_writable());
        let (shape, strides) = (pin.shape().to_vec(), pin.strides().to_vec());
        Operand { _keeper: keeper(pin), data, dtype, shape, strides, writable }
    }

    fn of_buffer(py: Python<'_>, read: Result<BufferArray, UnreadableBuffer>, writable: bool) -> PyResult<Operand<'a>> {
        let BufferArray { buffer, dtype, shape, strides } = read.map_err(|e| refuse_buffer(py, e))?;
        let data = buffer.raw().buf as *mut u8;
        Ok(Operand { _keeper: Keeper::Buffer(buffer), data, dtype, shape, strides, writable })
    }

    pub fn view(&self) -> ArrayView<'_> {
        ArrayView { data: self.data, dtype: self.dtype, shape: &self.shape, strides: &self.strides }
    }

    /// The writable view of an operand made by [`Operand::write`].
    pub fn view_mut(&self) -> ArrayViewMut<'_> {
        debug_assert!(self.writable);
        ArrayViewMut { data: self.data, dtype: self.dtype, shape: &self.shape, strides: &self.strides }
    }
}


/// The `out=` check both functions share: same shape and exactly the result's dtype.
pub fn check_out(py: Python<'_>, what: &str, out: &Operand, shape: &[usize], dtype: DType) -> PyResult<()> {
    if out.shape != shape {
        return Err(raise(
            py,
            Exc::ValueError,
            &format!("{what}: out has shape {}, but the result has shape {}", shape_text(&out.shape), shape_text(shape)),
        ));
    }
    if out.dtype != dtype {
        return Err(raise(
            py,
            Exc::TypeError,
            &format!("{what}: out has dtype {}, but the result is {} (rawcapi does not cast into out)", out.dtype.name(), dtype.name()),
        ));
    }
    Ok(())
}

//! One description of the module, and the two tables CPython reads it from.
//!
//! CPython has two ways to find an extension module's description in its shared library:
//!
//! - `PyInit_<name>` (every version; multi-phase since 3.5, PEP 489) returns a `PyModuleDef`:
//!   the name, doc, state size, method table and GC hooks are fields of the struct, and the rest
//!   (`Py_mod_exec`, `Py_mod_multiple_interpreters`, `Py_mod_gil`) is an array of
//!   `PyModuleDef_Slot` (`{int slot; void *value;}`) in `m_slots`.
//! - `PyModExport_<name>` (3.15+, PEP 793) returns one array of `PySlot` (PEP 820's slot
//!   struct, Include/slots.h: a `uint16_t` id, `uint16_t` flags, and a 64-bit union) that
//!   carries all of it, fields included: `Py_mod_name`, `Py_mod_doc`, `Py_mod_state_size`,
//!   `Py_mod_methods`, `Py_mod_state_traverse`/`_clear`/`_free`. There is no `PyModuleDef` (a struct that starts
//!   with a `PyObject` header), which is what lets one binary serve a build whose `PyObject` is
//!   opaque (PEP 793's motivation; docs/02-module.md).
//!
//! rawcapi exports both: `PyInit_rawcapi` for 3.10-3.14 (and any abi3 build), and
//! `PyModExport_rawcapi` where it is compiled for 3.15, which 3.15 looks up first. Both tables
//! are computed at compile time from one list of [`Setting`]s (src/lib.rs), so they cannot
//! disagree: a setting added to the list reaches both, and a new kind of setting does not compile
//! until both builders below say where it goes (each `match` is exhaustive).
//!
//! ```c
//! /* PyInit_* form */                            /* PyModExport_* form (3.15) */
//! static PyModuleDef_Slot slots[] = {            static PySlot slots[] = {
//!     {Py_mod_exec, exec},                           PySlot_STATIC_DATA(Py_mod_abi, &abi_info),
//!     {Py_mod_gil, Py_MOD_GIL_NOT_USED},             PySlot_STATIC_DATA(Py_mod_name, "rawcapi"),
//!     {0, NULL}};                                    PySlot_SIZE(Py_mod_state_size, sizeof(st)),
//! static PyModuleDef def = {                         PySlot_FUNC(Py_mod_exec, exec),
//!     PyModuleDef_HEAD_INIT, "rawcapi", doc,         PySlot_DATA(Py_mod_gil, Py_MOD_GIL_NOT_USED),
//!     sizeof(st), methods, slots, ...};              ...
//! PyMODINIT_FUNC PyInit_rawcapi(void)                PySlot_END};
//! { return PyModuleDef_Init(&def); }             PyMODEXPORT_FUNC PyModExport_rawcapi(void)
//!                                                { return slots; }
//! ```

use std::ffi::{c_int, c_void, CStr};
use std::ptr;

use pyo3_ffi::{freefunc, inquiry, traverseproc, PyMethodDef, PyModuleDef, PyModuleDef_HEAD_INIT, PyModuleDef_Slot, PyObject};
#[cfg(Py_3_15)]
use pyo3_ffi::{PyABIInfo, PySlot};

/// The signature of `Py_mod_exec`: run on the new module object, 0 or -1 with an exception set.
pub type ExecFn = unsafe extern "C" fn(*mut PyObject) -> c_int;

/// One thing the module tells CPython about itself. The variants are the union of what the two
/// forms carry; where each one goes is decided by [`module_def`], [`def_slots`] and
/// [`export_slots`].
#[derive(Clone, Copy)]
pub enum Setting {
    /// `m_name` / `Py_mod_name`.
    Name(&'static CStr),
    /// `m_doc` / `Py_mod_doc`.
    Doc(&'static CStr),
    /// `m_size` / `Py_mod_state_size`: bytes of per-module state CPython allocates, zeroed.
    StateSize(isize),
    /// `m_methods` / `Py_mod_methods`: a `PyMethodDef` table ended by a NULL entry.
    Methods(*mut PyMethodDef),
    /// `m_traverse` / `Py_mod_state_traverse`.
    Traverse(traverseproc),
    /// `m_clear` / `Py_mod_state_clear`.
    Clear(inquiry),
    /// `m_free` / `Py_mod_state_free`.
    Free(freefunc),
    /// `Py_mod_exec` (a slot in both forms).
    Exec(ExecFn),
    /// `Py_mod_multiple_interpreters` (3.12+; a slot in both forms).
    #[cfg(Py_3_12)]
    MultipleInterpreters(*mut c_void),
    /// `Py_mod_gil` (3.13+; a slot in both forms).
    #[cfg(Py_3_13)]
    Gil(*mut c_void),
}

/// The `PyModuleDef` the settings describe, with `slots` as its `m_slots`. A const fn: evaluated
/// into a `static`'s initial bytes, as C's static initialiser is.
pub const fn module_def(settings: &[Setting], slots: *mut PyModuleDef_Slot) -> PyModuleDef {
    let mut def = PyModuleDef {
        m_base: PyModuleDef_HEAD_INIT,
        m_name: ptr::null(),
        m_doc: ptr::null(),
        m_size: 0,
        m_methods: ptr::null_mut(),
        m_slots: slots,
        m_traverse: None,
        m_clear: None,
        m_free: None,
    };
    let mut i = 0;
    while i < settings.len() {
        match settings[i] {
            Setting::Name(name) => def.m_name = name.as_ptr(),
            Setting::Doc(doc) => def.m_doc = doc.as_ptr(),
            Setting::StateSize(size) => def.m_size = size,
            Setting::Methods(methods) => def.m_methods = methods,
            Setting::Traverse(f) => def.m_traverse = Some(f),
            Setting::Clear(f) => def.m_clear = Some(f),
            Setting::Free(f) => def.m_free = Some(f),
            // Slots in this form: see `def_slot`.
            Setting::Exec(_) => {}
            #[cfg(Py_3_12)]
            Setting::MultipleInterpreters(_) => {}
            #[cfg(Py_3_13)]
            Setting::Gil(_) => {}
        }
        i += 1;
    }
    assert!(!def.m_name.is_null(), "a module has a name");
    def
}

/// The `m_slots` entry of a setting, if it is a slot in the `PyModuleDef` form.
const fn def_slot(setting: Setting) -> Option<PyModuleDef_Slot> {
    match setting {
        Setting::Exec(f) => Some(PyModuleDef_Slot { slot: pyo3_ffi::Py_mod_exec, value: f as *mut c_void }),
        #[cfg(Py_3_12)]
        Setting::MultipleInterpreters(value) => Some(PyModuleDef_Slot { slot: pyo3_ffi::Py_mod_multiple_interpreters, value }),
        #[cfg(Py_3_13)]
        Setting::Gil(value) => Some(PyModuleDef_Slot { slot: pyo3_ffi::Py_mod_gil, value }),
        // Fields of the struct in this form: see `module_def`.
        Setting::Name(_) | Setting::Doc(_) | Setting::StateSize(_) | Setting::Methods(_) => None,
        Setting::Traverse(_) | Setting::Clear(_) | Setting::Free(_) => None,
    }
}

/// The abi3 build (compiled for 3.11, run on 3.11+) has one entry more than its settings: 3.11
/// rejects slot ids it does not know (SystemError), so `Py_mod_multiple_interpreters` cannot be
/// in the table at compile time. The entry starts as a second terminator and is filled in at run
/// time on 3.12+ (src/lib.rs, `abi3_runtime_slots`); it is the one before the terminator.
pub const RUNTIME_SLOTS: usize = if cfg!(all(Py_LIMITED_API, not(Py_3_12))) { 1 } else { 0 };

/// The length of the `m_slots` array: one per slot setting, the run-time spare, the terminator.
pub const fn def_slot_count(settings: &[Setting]) -> usize {
    let mut n = 0;
    let mut i = 0;
    while i < settings.len() {
        if def_slot(settings[i]).is_some() {
            n += 1;
        }
        i += 1;
    }
    n + RUNTIME_SLOTS + 1
}

/// The `m_slots` array, `{0, NULL}`-terminated (and, for abi3, with its spare before that).
pub const fn def_slots<const N: usize>(settings: &[Setting]) -> [PyModuleDef_Slot; N] {
    assert!(N == def_slot_count(settings), "m_slots has a different length from its settings");
    let mut out = [PyModuleDef_Slot { slot: 0, value: ptr::null_mut() }; N];
    let (mut i, mut n) = (0, 0);
    while i < settings.len() {
        if let Some(slot) = def_slot(settings[i]) {
            out[n] = slot;
            n += 1;
        }
        i += 1;
    }
    out
}

/// The `PySlot` of a setting in the `PyModExport_*` form, where every setting is a slot. The
/// constructors are pyo3-ffi's spellings of Include/slots.h's macros: `PySlot_FUNC` for a
/// function, `PySlot_SIZE` for a size, `PySlot_DATA` for a small integer in a pointer (the
/// `Py_MOD_*` values), `PySlot_STATIC_DATA` for a pointer to static data (the `PySlot_STATIC`
/// flag, which some slots require: `must_be_static` in CPython's Python/slots.toml).
#[cfg(Py_3_15)]
const fn export_slot(setting: Setting) -> PySlot {
    use pyo3_ffi::{PySlot_DATA, PySlot_FUNC, PySlot_SIZE, PySlot_STATIC_DATA};
    match setting {
        Setting::Name(name) => PySlot_STATIC_DATA(pyo3_ffi::Py_mod_name, name.as_ptr() as *mut c_void),
        Setting::Doc(doc) => PySlot_STATIC_DATA(pyo3_ffi::Py_mod_doc, doc.as_ptr() as *mut c_void),
        Setting::StateSize(size) => PySlot_SIZE(pyo3_ffi::Py_mod_state_size, size),
        Setting::Methods(methods) => PySlot_STATIC_DATA(pyo3_ffi::Py_mod_methods, methods.cast()),
        // SAFETY (each PySlot_FUNC): the value is a function pointer, never NULL, of the
        // signature CPython calls the slot with.
        Setting::Traverse(f) => unsafe { PySlot_FUNC(pyo3_ffi::Py_mod_state_traverse, f as *mut c_void) },
        Setting::Clear(f) => unsafe { PySlot_FUNC(pyo3_ffi::Py_mod_state_clear, f as *mut c_void) },
        Setting::Free(f) => unsafe { PySlot_FUNC(pyo3_ffi::Py_mod_state_free, f as *mut c_void) },
        Setting::Exec(f) => unsafe { PySlot_FUNC(pyo3_ffi::Py_mod_exec, f as *mut c_void) },
        Setting::MultipleInterpreters(value) => PySlot_DATA(pyo3_ffi::Py_mod_multiple_interpreters, value),
        Setting::Gil(value) => PySlot_DATA(pyo3_ffi::Py_mod_gil, value),
    }
}

/// The length of the `PySlot` array: `Py_mod_abi`, one per setting, `Py_mod_token`, the end.
#[cfg(Py_3_15)]
pub const fn export_slot_count(settings: &[Setting]) -> usize {
    settings.len() + 3
}

/// The `PyModExport_*` array: `Py_mod_abi` first (so an interpreter of another ABI refuses the
/// module before reading anything else), then every setting, then `Py_mod_token`, then
/// `PySlot_END`.
///
/// `token` is the address of the `PyModuleDef` built from the same settings. A module made from
/// a `PyModuleDef` has that address as its token (Doc/c-api/module.rst, "Module token"), so with
/// this slot both forms give the module the same token and `PyModule_GetToken`/
/// `PyType_GetModuleByDef` find it whichever form the interpreter used. Doc/c-api/module.rst
/// allows a token that points at a `PyModuleDef` when the module behaves as if made from it,
/// which it does: the same settings built both.
#[cfg(Py_3_15)]
pub const fn export_slots<const N: usize>(settings: &[Setting], abi: *mut PyABIInfo, token: *mut PyModuleDef) -> [PySlot; N] {
    use pyo3_ffi::{PySlot_END, PySlot_STATIC_DATA};
    assert!(N == export_slot_count(settings), "the PySlot array has a different length from its settings");
    let mut out = [PySlot_END(); N];
    out[0] = PySlot_STATIC_DATA(pyo3_ffi::Py_mod_abi, abi.cast());
    let mut i = 0;
    while i < settings.len() {
        out[i + 1] = export_slot(settings[i]);
        i += 1;
    }
    out[N - 2] = PySlot_STATIC_DATA(pyo3_ffi::Py_mod_token, token.cast());
    out
}

/// `PyABIInfo_VAR(abi_info)` (Include/modsupport.h): what the module was built for, checked by
/// `PyABIInfo_Check` before anything else of the module is read. The flags are pyo3-ffi's
/// `PyABIInfo_DEFAULT_FLAGS` (the GIL or free-threaded build); both versions are the headers'
/// `major.minor`, from build.rs (C's `PyABIInfo_VAR` stores the whole `PY_VERSION_HEX`;
/// `PyABIInfo_Check` in Python/modsupport.c compares only major and minor), so a module compiled
/// for one minor version is refused by another with "incompatible ABI version" rather than loaded.
#[cfg(Py_3_15)]
pub const fn abi_info() -> PyABIInfo {
    let version = match u32::from_str_radix(env!("RAWCAPI_PY_VERSION_HEX"), 16) {
        Ok(v) => v,
        Err(_) => panic!("build.rs sets RAWCAPI_PY_VERSION_HEX to hex digits"),
    };
    PyABIInfo { build_version: version, abi_version: version, ..pyo3_ffi::_PyABIInfo_DEFAULT }
}

/// Is `module` a module made from this description, by either form? Compares its token with the
/// `PyModuleDef`'s address (see [`export_slots`]); before 3.15, which has no tokens, its
/// `PyModuleDef` (`PyModule_GetDef`).
///
/// # Safety
/// `module` is a valid object (borrowed); the thread is attached.
pub unsafe fn is_module_of(module: *mut PyObject, def: *mut PyModuleDef) -> bool {
    // SAFETY: the caller's promise; PyModule_Check only reads the type.
    if unsafe { pyo3_ffi::PyModule_Check(module) } == 0 {
        return false;
    }
    #[cfg(Py_3_15)]
    {
        let mut token: *mut c_void = ptr::null_mut();
        // SAFETY: `module` is a module (checked), borrowed; PyModule_GetToken writes its token
        // (a plain pointer, no reference) and returns 0; -1 with an exception set only for an
        // object that is not a module, which was ruled out.
        let status = unsafe { pyo3_ffi::PyModule_GetToken(module, &mut token) };
        status == 0 && token == def.cast()
    }
    #[cfg(not(Py_3_15))]
    {
        // SAFETY: as above; for a module PyModule_GetDef returns its definition, or NULL (no
        // exception) for one not made from a definition. Only the address is compared.
        unsafe { pyo3_ffi::PyModule_GetDef(module) == def }
    }
}

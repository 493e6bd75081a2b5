//! No panic crosses `extern "C"`.
//!
//! C has no unwinding, and since Rust 1.81 a panic that reaches an `extern "C"` frame aborts the
//! process, the user's interpreter with it. So every entry point CPython calls (module
//! functions, type slots, the exec slot) runs its body inside [`guard`], which catches the panic
//! and raises `SystemError` carrying the panic message instead. `guard` is also where `PyResult`
//! meets the C return convention: its caller gets a value or the error marker.

use std::any::Any;
use std::cell::RefCell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

use crate::capi::error::{raise, Exc, PyResult};
use crate::capi::gil::Python;

/// Run `body`; `Err` (an exception is set) gives `error_marker`, and so does a panic, after
/// raising `SystemError("<module> panicked: <message> (at file:line:column)")`.
///
/// `AssertUnwindSafe`: after a panic the state the body was mutating is never looked at again;
/// what it owned is dropped during unwinding (buffers released, references decremented).
pub fn guard<T>(py: Python<'_>, error_marker: T, body: impl FnOnce() -> PyResult<T>) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(value)) => value,
        Ok(Err(_exception_is_set)) => error_marker,
        Err(payload) => {
            let at = PANIC_LOCATION.with(|l| l.borrow_mut().take()).unwrap_or_default();
            let module = env!("CARGO_CRATE_NAME");
            let _ = raise(py, Exc::SystemError, &format!("{module} panicked: {}{at}", message(&*payload)));
            error_marker
        }
    }
}

thread_local! {
    /// Where the last panic on this thread happened, recorded by the hook for `guard`'s message.
    static PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Replace the default panic hook (which prints to stderr) with one that only records the
/// location: the message reaches the user in the SystemError instead. The hook belongs to the
/// standard library linked into this .so, so other Rust extensions in the process keep theirs.
/// Called from the module's exec slot; installs once per process.
pub fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            if let Some(loc) = info.location() {
                let at = format!(" (at {}:{}:{})", loc.file(), loc.line(), loc.column());
                PANIC_LOCATION.with(|l| *l.borrow_mut() = Some(at));
            }
        }));
    });
}

/// The text of a panic payload: `panic!("...")` gives a `&str` or a `String`.
fn message(payload: &(dyn Any + Send)) -> &str {
    if let Some(s) = payload.downcast_ref::<&str>() {
        s
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s
    } else {
        "(a panic payload that is not a string)"
    }
}

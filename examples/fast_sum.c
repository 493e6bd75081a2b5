/* fast_sum.c -- the article's C extension, kept as the baseline rawcapi is compared with.
 *
 * Equivalent Python:
 *     def fast_sum(data): return sum(memoryview(data).tobytes())   # C-contiguous buffers only
 *
 * Written the way the article writes it: METH_VARARGS, PyArg_ParseTuple with "y*" (which asks
 * for a C-contiguous buffer and fills a Py_buffer), a byte loop, PyBuffer_Release, and
 * single-phase initialisation with PyModule_Create (which, on a free-threaded build, is where the
 * module declares that it runs without the GIL). Compare with src/functions/fast_sum.rs and
 * src/lib.rs; docs/02-module.md puts the two side by side.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *
fast_sum(PyObject *self, PyObject *args)
{
    Py_buffer view;
    /* "y*": any C-contiguous bytes-like object; fills view and holds a reference to the
     * exporter in view.obj until PyBuffer_Release. */
    if (!PyArg_ParseTuple(args, "y*", &view)) {
        return NULL;  /* exception set by PyArg_ParseTuple */
    }
    unsigned long long total = 0;
    const unsigned char *data = (const unsigned char *)view.buf;
    for (Py_ssize_t i = 0; i < view.len; i++) {
        total += data[i];
    }
    PyBuffer_Release(&view);
    return PyLong_FromUnsignedLongLong(total);  /* new reference, or NULL on MemoryError */
}

static PyMethodDef fast_sum_methods[] = {
    {"fast_sum", fast_sum, METH_VARARGS, "Sum the bytes of a C-contiguous buffer."},
    {NULL, NULL, 0, NULL}  /* sentinel */
};

static struct PyModuleDef fast_sum_module = {
    PyModuleDef_HEAD_INIT,
    "fast_sum",  /* m_name */
    "The article's fast_sum C extension (the baseline for rawcapi).",  /* m_doc */
    -1,          /* m_size: -1 = single-phase, state in C globals, no subinterpreter support */
    fast_sum_methods,
};

PyMODINIT_FUNC
PyInit_fast_sum(void)
{
    PyObject *m = PyModule_Create(&fast_sum_module);  /* new reference to the module */
#ifdef Py_GIL_DISABLED
    /* A free-threaded build (3.13+) turns the GIL back on when it imports a module that has not
     * said it can run without it. fast_sum reads only the buffer it was given, so it says so. */
    if (m != NULL && PyUnstable_Module_SetGIL(m, Py_MOD_GIL_NOT_USED) < 0) {
        Py_DECREF(m);
        return NULL;
    }
#endif
    return m;
}

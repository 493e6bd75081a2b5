/* rawcapi.h -- rawcapi's C API, for other C extension modules.
 *
 * rawcapi exports a table of C function pointers in a capsule, the attribute
 * rawcapi._C_API (named "rawcapi._C_API"). This header declares the table and
 * import_rawcapi(), which fetches it -- the same idiom as NumPy's import_array():
 *
 *     #include <rawcapi.h>                      // cc -I"$(python -c 'import rawcapi; print(rawcapi.get_include())')"
 *
 *     static PyObject *total(PyObject *self, PyObject *arg) {
 *         Py_buffer view;
 *         if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
 *         uint64_t sum;
 *         int status;
 *         Py_BEGIN_ALLOW_THREADS                  // the kernels do not need the GIL
 *         status = rawcapi_api->sum_bytes(view.buf, (size_t)view.len, &sum);
 *         Py_END_ALLOW_THREADS
 *         PyBuffer_Release(&view);
 *         if (status < 0) { PyErr_SetString(PyExc_SystemError, "rawcapi.sum_bytes failed"); return NULL; }
 *         return PyLong_FromUnsignedLongLong(sum);
 *     }
 *
 *     static int mymod_exec(PyObject *m) { return import_rawcapi(); }   // or in PyInit_mymod
 *
 * Compatibility: the table only grows. RAWCAPI_C_API_VERSION counts its versions; a field, once
 * added, keeps its place and meaning. import_rawcapi() accepts a rawcapi whose table is at least
 * the version this header describes, and raises ImportError (naming both versions) otherwise.
 *
 * Interpreters: the table holds only process-wide function pointers, so one table serves every
 * (sub)interpreter. What belongs to one interpreter -- the rawcapi.Array type -- is looked up by
 * the functions themselves, in the module state of the calling interpreter's rawcapi module.
 *
 * rawcapi_api is a static: each C file that calls the API calls import_rawcapi() first (NumPy
 * offers PY_ARRAY_UNIQUE_SYMBOL to share one pointer between files; with one file, not needed).
 */
#ifndef RAWCAPI_H
#define RAWCAPI_H

#include <Python.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The table version this header describes. */
#define RAWCAPI_C_API_VERSION 1
/* The capsule's name, which PyCapsule_Import checks: "<module>.<attribute>". */
#define RAWCAPI_CAPSULE_NAME "rawcapi._C_API"

typedef struct rawcapi_CAPI {
    /* The table version of the rawcapi that filled it (>= RAWCAPI_C_API_VERSION after import). */
    uint32_t version;
    /* sizeof(rawcapi_CAPI) as compiled into rawcapi. */
    uint32_t size;

    /* -- Kernels: plain memory, no Python objects. Callable WITHOUT the GIL, from any thread.
     * `data` points at `len` readable bytes (may be NULL when len is 0). Return 0 and store the
     * result, or -1 on an internal error (a bug in rawcapi; no Python exception is set). */
    int (*sum_bytes)(const void *data, size_t len, uint64_t *result);       /* sum of the bytes */
    int (*count_newlines)(const void *data, size_t len, uint64_t *result);  /* count of '\n' bytes */

    /* -- rawcapi.Array. The GIL must be held. An error returns NULL / -1 with an exception set. */
    /* 1 if obj is a rawcapi.Array (of any interpreter's rawcapi), else 0. Never fails. */
    int (*Array_Check)(PyObject *obj);
    /* A new, zero-filled Array (new reference) of the calling interpreter's rawcapi.Array type.
     * dtype: "bool", "uint8", "int32", "int64", "float32", "float64" or "complex128" (the
     * names rawcapi.Array uses; ValueError otherwise); shape: ndim sizes >= 0, 0 <= ndim <= 32. */
    PyObject *(*Array_New)(const char *dtype, int ndim, const Py_ssize_t *shape);
    /* Accessors (borrowed: valid while the array lives; shape and strides change if Python code
     * assigns array.shape). To keep them fixed while Python code runs, or while the GIL is
     * released, hold a buffer export of the array (PyObject_GetBuffer): array.shape = ... raises
     * BufferError until it is released. For a non-Array they raise TypeError. */
    void *(*Array_Data)(PyObject *array);                  /* first element; NULL on error */
    int (*Array_NDim)(PyObject *array);                    /* -1 on error */
    const Py_ssize_t *(*Array_Shape)(PyObject *array);     /* ndim sizes; NULL on error */
    const Py_ssize_t *(*Array_Strides)(PyObject *array);   /* ndim byte strides; NULL on error */
    const char *(*Array_DType)(PyObject *array);           /* static name, e.g. "float64"; NULL on error */
    int (*Array_IsWritable)(PyObject *array);              /* 1 or 0; -1 on error */
} rawcapi_CAPI;

#ifndef RAWCAPI_NO_IMPORT
/* (Define RAWCAPI_NO_IMPORT in a file that only needs the types, like NumPy's NO_IMPORT_ARRAY.) */

/* The table, once import_rawcapi() has succeeded in this C file. */
static const rawcapi_CAPI *rawcapi_api = NULL;

/* Import rawcapi and fetch its table. 0 on success; -1 with ImportError (or the import's own
 * error) set. Call it with the GIL held, typically from the module's init or exec function. */
static inline int
import_rawcapi(void)
{
    /* Imports "rawcapi", takes its attribute "_C_API" and checks that it is a capsule with this
     * exact name (a new reference is not involved: the pointer is returned). */
    const rawcapi_CAPI *api = (const rawcapi_CAPI *)PyCapsule_Import(RAWCAPI_CAPSULE_NAME, 0);
    if (api == NULL) {
        return -1;
    }
    if (api->version < RAWCAPI_C_API_VERSION) {
        PyErr_Format(PyExc_ImportError,
                     "rawcapi C API version %u is older than version %u, which this extension "
                     "was compiled against (include/rawcapi.h): upgrade rawcapi",
                     (unsigned)api->version, (unsigned)RAWCAPI_C_API_VERSION);
        return -1;
    }
    rawcapi_api = api;
    return 0;
}
#endif /* !RAWCAPI_NO_IMPORT */

#ifdef __cplusplus
}
#endif
#endif /* RAWCAPI_H */

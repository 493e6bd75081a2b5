/* A C extension that uses rawcapi through its C API only: include/rawcapi.h + import_rawcapi().
 * Built by tests/test_c_api.py against rawcapi.get_include(); every function forwards to one
 * entry of the table so the test can check each against Python. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <rawcapi.h>

/* total(data) -> int: rawcapi's sum_bytes over a buffer, with the GIL released. */
static PyObject *
total(PyObject *module, PyObject *arg)
{
    Py_buffer view;
    uint64_t result = 0;
    int status;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = rawcapi_api->sum_bytes(view.buf, (size_t)view.len, &result);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (status < 0) {
        PyErr_SetString(PyExc_SystemError, "rawcapi sum_bytes failed");
        return NULL;
    }
    return PyLong_FromUnsignedLongLong(result);
}

/* newlines(data) -> int: count_newlines, likewise. */
static PyObject *
newlines(PyObject *module, PyObject *arg)
{
    Py_buffer view;
    uint64_t result = 0;
    int status;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    Py_BEGIN_ALLOW_THREADS
    status = rawcapi_api->count_newlines(view.buf, (size_t)view.len, &result);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    if (status < 0) {
        PyErr_SetString(PyExc_SystemError, "rawcapi count_newlines failed");
        return NULL;
    }
    return PyLong_FromUnsignedLongLong(result);
}

/* make(dtype, shape) -> Array: Array_New. */
static PyObject *
make(PyObject *module, PyObject *args)
{
    const char *dtype;
    PyObject *shape_obj;
    Py_ssize_t shape[40];
    if (!PyArg_ParseTuple(args, "sO!", &dtype, &PyTuple_Type, &shape_obj)) {
        return NULL;
    }
    Py_ssize_t ndim = PyTuple_GET_SIZE(shape_obj);
    if (ndim > 40) {
        ndim = 40;  /* rawcapi refuses more than 32 itself */
    }
    for (Py_ssize_t i = 0; i < ndim; i++) {
        shape[i] = PyLong_AsSsize_t(PyTuple_GET_ITEM(shape_obj, i));
        if (shape[i] == -1 && PyErr_Occurred()) {
            return NULL;
        }
    }
    return rawcapi_api->Array_New(dtype, (int)PyTuple_GET_SIZE(shape_obj), shape);
}

/* is_array(obj) -> bool: Array_Check. */
static PyObject *
is_array(PyObject *module, PyObject *arg)
{
    return PyBool_FromLong(rawcapi_api->Array_Check(arg));
}

static PyObject *
tuple_of(const Py_ssize_t *values, int n)
{
    PyObject *t = PyTuple_New(n);
    if (t == NULL) {
        return NULL;
    }
    for (int i = 0; i < n; i++) {
        PyObject *v = PyLong_FromSsize_t(values[i]);
        if (v == NULL) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, v);  /* steals v */
    }
    return t;
}

/* describe(array) -> (ndim, shape, strides, dtype, writable, data address): the accessors. */
static PyObject *
describe(PyObject *module, PyObject *arg)
{
    int ndim = rawcapi_api->Array_NDim(arg);
    if (ndim < 0) {
        return NULL;
    }
    const Py_ssize_t *shape = rawcapi_api->Array_Shape(arg);
    const Py_ssize_t *strides = rawcapi_api->Array_Strides(arg);
    const char *dtype = rawcapi_api->Array_DType(arg);
    int writable = rawcapi_api->Array_IsWritable(arg);
    void *data = rawcapi_api->Array_Data(arg);
    if (shape == NULL || strides == NULL || dtype == NULL || writable < 0 || data == NULL) {
        return NULL;
    }
    PyObject *shape_t = tuple_of(shape, ndim);
    PyObject *strides_t = shape_t ? tuple_of(strides, ndim) : NULL;
    if (strides_t == NULL) {
        Py_XDECREF(shape_t);
        return NULL;
    }
    /* N: steals the tuples' references. */
    return Py_BuildValue("(iNNsOn)", ndim, shape_t, strides_t, dtype, writable ? Py_True : Py_False,
                         (Py_ssize_t)(uintptr_t)data);
}

/* iota(array): write 0, 1, 2 ... through Array_Data into a C-contiguous float64 array. */
static PyObject *
iota(PyObject *module, PyObject *arg)
{
    const char *dtype = rawcapi_api->Array_DType(arg);
    if (dtype == NULL) {
        return NULL;
    }
    if (strcmp(dtype, "float64") != 0 || !rawcapi_api->Array_IsWritable(arg)) {
        PyErr_SetString(PyExc_ValueError, "iota needs a writable float64 array");
        return NULL;
    }
    int ndim = rawcapi_api->Array_NDim(arg);
    const Py_ssize_t *shape = rawcapi_api->Array_Shape(arg);
    Py_ssize_t n = 1;
    for (int i = 0; i < ndim; i++) {
        n *= shape[i];
    }
    double *data = rawcapi_api->Array_Data(arg);
    for (Py_ssize_t i = 0; i < n; i++) {
        data[i] = (double)i;
    }
    Py_RETURN_NONE;
}

static PyObject *
api_version(PyObject *module, PyObject *unused)
{
    return Py_BuildValue("(II)", (unsigned)rawcapi_api->version, (unsigned)RAWCAPI_C_API_VERSION);
}

static PyMethodDef methods[] = {
    {"total", total, METH_O, NULL},
    {"newlines", newlines, METH_O, NULL},
    {"make", make, METH_VARARGS, NULL},
    {"is_array", is_array, METH_O, NULL},
    {"describe", describe, METH_O, NULL},
    {"iota", iota, METH_O, NULL},
    {"api_version", api_version, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

/* The exec slot imports rawcapi's table: a failure (wrong version, no capsule) fails the import. */
static int
consumer_exec(PyObject *module)
{
    return import_rawcapi();
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, consumer_exec},
#if PY_VERSION_HEX >= 0x030C0000
    {Py_mod_multiple_interpreters, Py_MOD_PER_INTERPRETER_GIL_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef consumer_module = {
    PyModuleDef_HEAD_INIT, "c_api_consumer", NULL, 0, methods, slots, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit_c_api_consumer(void)
{
    return PyModuleDef_Init(&consumer_module);
}

/* trackboard._plain: the type checks of log() that run for every point, in one C pass.
 *
 * A training loop logs plain Python ints and floats; telling them from bools, numpy scalars and
 * strings (which take the normalisers' general path, where errors are worded) costs a Python
 * loop per item. These functions do that check, and the conversion, without one. None of them
 * raises for unusual data: they answer "not plain" and the general path decides.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* float64 holds every integer up to 2**53 exactly, so steps round-trip. */
#define MAX_EXACT_INT 9007199254740992LL

enum { NOT_PLAIN = 0, FLOATS = 1, INTS = 2 };

/* 1 and the number when `item` (an exact int) lies within +-2**53, else 0 (no error set). */
static int
exact_int(PyObject *item, long long *number)
{
    int overflow;
    *number = PyLong_AsLongLongAndOverflow(item, &overflow);
    return !overflow && *number <= MAX_EXACT_INT && *number >= -MAX_EXACT_INT;
}

PyDoc_STRVAR(column_doc,
"column(items, out=None) -> int\n\n"
"The kind of a list or tuple of plain numbers, checked in one pass: 2 when every item is an int\n"
"within +-2**53 (also when there are none), 1 when every item is a float or such an int, 0 for\n"
"anything else (a bool, a numpy scalar, a string, a larger int, not a list or tuple).\n"
"With `out`, a writable float64 buffer of len(items), the items are written into it as well\n"
"(what is written is meaningless when the answer is 0).");

static PyObject *
column(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 1 || nargs > 2) {
        PyErr_SetString(PyExc_TypeError, "column() takes items and an optional out buffer");
        return NULL;
    }
    PyObject *items = args[0];
    if (!PyList_CheckExact(items) && !PyTuple_CheckExact(items)) {
        return PyLong_FromLong(NOT_PLAIN);
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(items);
    Py_buffer view = {0};
    double *out = NULL;
    if (nargs == 2 && args[1] != Py_None) {
        if (PyObject_GetBuffer(args[1], &view, PyBUF_WRITABLE | PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
            return NULL;
        }
        if (view.itemsize != sizeof(double) || view.format == NULL || strcmp(view.format, "d") != 0
                || view.len != n * (Py_ssize_t)sizeof(double)) {
            PyBuffer_Release(&view);
            PyErr_Format(PyExc_ValueError, "out must be a float64 buffer of %zd items", n);
            return NULL;
        }
        out = (double *)view.buf;
        if (PySequence_Fast_GET_SIZE(items) != n) {  /* changed by code the buffer's owner ran */
            PyBuffer_Release(&view);
            return PyLong_FromLong(NOT_PLAIN);
        }
    }
    PyObject **item = PySequence_Fast_ITEMS(items);  /* only now: that code may have moved them */
    /* No Python code runs in this loop (exact ints and floats only), so the list cannot change. */
    int kind = INTS;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *x = item[i];
        double value;
        long long number;
        if (PyFloat_CheckExact(x)) {
            value = PyFloat_AS_DOUBLE(x);
            kind = FLOATS;
        }
        else if (PyLong_CheckExact(x) && exact_int(x, &number)) {
            value = (double)number;
        }
        else {
            kind = NOT_PLAIN;
            break;
        }
        if (out != NULL) {
            out[i] = value;
        }
    }
    if (out != NULL) {
        PyBuffer_Release(&view);
    }
    return PyLong_FromLong(kind);
}

/* The plain number `x` is, or holds as a list of one (borrowed), else NULL. */
static PyObject *
one_number(PyObject *x)
{
    if (PyList_CheckExact(x)) {
        if (PyList_GET_SIZE(x) != 1) {
            return NULL;
        }
        x = PyList_GET_ITEM(x, 0);
    }
    return PyFloat_CheckExact(x) || PyLong_CheckExact(x) ? x : NULL;
}

/* That number as a float (a new reference), else NULL with no error set: not a plain number, or
 * an int too large for a float. Runs no Python code (floats are not tracked by the GC). */
static PyObject *
one_float(PyObject *x)
{
    x = one_number(x);
    if (x == NULL || PyFloat_CheckExact(x)) {
        return Py_XNewRef(x);
    }
    double value = PyLong_AsDouble(x);
    PyObject *number = value == -1.0 && PyErr_Occurred() ? NULL : PyFloat_FromDouble(value);
    if (number == NULL) {
        PyErr_Clear();  /* the general path words the error (OverflowError, MemoryError) */
    }
    return number;
}

/* 1 and the step when `x` is a plain int within +-2**53 or a list of one, else 0. */
static int
step_of(PyObject *x, long long *step)
{
    x = one_number(x);
    return x != NULL && PyLong_CheckExact(x) && exact_int(x, step);
}

PyDoc_STRVAR(one_floats_doc,
"one_floats(items) -> tuple | None\n\n"
"The per-step values of a list or tuple, each a plain float, int or a list of one of them, as a\n"
"tuple of floats; None when any item is something else (or an int too large for a float).");

static PyObject *
one_floats(PyObject *Py_UNUSED(module), PyObject *items)
{
    if (!PyList_CheckExact(items) && !PyTuple_CheckExact(items)) {
        Py_RETURN_NONE;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(items);
    PyObject *floats = PyTuple_New(n);
    if (floats == NULL) {
        return NULL;
    }
    if (PySequence_Fast_GET_SIZE(items) != n) {  /* changed by code the allocation's GC ran */
        goto not_plain;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *value = one_float(PySequence_Fast_GET_ITEM(items, i));
        if (value == NULL) {
            goto not_plain;
        }
        PyTuple_SET_ITEM(floats, i, value);
    }
    return floats;

not_plain:
    Py_DECREF(floats);  /* the items not yet set are NULL, which a tuple's deallocation skips */
    Py_RETURN_NONE;
}

PyDoc_STRVAR(one_step_doc,
"one_step(x) -> int | None\n\n"
"The step `x` gives, a plain int within +-2**53 or a list of one; None when it is anything else.");

static PyObject *
one_step(PyObject *Py_UNUSED(module), PyObject *x)
{
    long long step;
    if (!step_of(x, &step)) {
        Py_RETURN_NONE;
    }
    return PyLong_FromLongLong(step);
}

static PyObject *key_values, *key_steps, *key_epochs;

PyDoc_STRVAR(nested_points_doc,
"nested_points(series) -> (values, step, epoch) | None\n\n"
"One point of each series of a tuple of dicts {'steps'?: s, 'values': v, 'epochs'?: e}, all with\n"
"the same keys: the values as a tuple of floats, and the step and epoch they share (None where the\n"
"dicts have none). Each v is a plain float, int or a list of one, each s and e a plain int within\n"
"+-2**53 or a list of one. None when the series are not all like that.");

static PyObject *
nested_points(PyObject *Py_UNUSED(module), PyObject *series)
{
    if (!PyTuple_CheckExact(series) || PyTuple_GET_SIZE(series) == 0) {
        Py_RETURN_NONE;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(series);
    PyObject *floats = PyTuple_New(n);
    if (floats == NULL) {
        return NULL;
    }
    int has_steps = 0, has_epochs = 0;
    long long step = 0, epoch = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *dict = PyTuple_GET_ITEM(series, i);
        if (!PyDict_CheckExact(dict)) {
            goto not_plain;
        }
        /* Strong references: a key with its own __eq__ could change the dict during a lookup. */
        Py_INCREF(dict);
        PyObject *found[3] = {NULL, NULL, NULL};
        PyObject *keys[3] = {key_values, key_steps, key_epochs};
        for (int k = 0; k < 3; k++) {
            found[k] = PyDict_GetItemWithError(dict, keys[k]);
            if (found[k] == NULL && PyErr_Occurred()) {
                PyErr_Clear();
            }
            Py_XINCREF(found[k]);
        }
        Py_ssize_t size = PyDict_GET_SIZE(dict);
        Py_DECREF(dict);
        int plain = found[0] != NULL && size == 1 + (found[1] != NULL) + (found[2] != NULL)
                    && (i == 0 || ((found[1] != NULL) == has_steps && (found[2] != NULL) == has_epochs));
        long long own_step = 0, own_epoch = 0;
        plain = plain && (found[1] == NULL || step_of(found[1], &own_step))
                && (found[2] == NULL || step_of(found[2], &own_epoch))
                && (i == 0 || (own_step == step && own_epoch == epoch));
        PyObject *value = plain ? one_float(found[0]) : NULL;
        for (int k = 0; k < 3; k++) {
            Py_XDECREF(found[k]);
        }
        if (value == NULL) {
            goto not_plain;
        }
        PyTuple_SET_ITEM(floats, i, value);
        has_steps = found[1] != NULL;
        has_epochs = found[2] != NULL;
        step = own_step;
        epoch = own_epoch;
    }
    PyObject *step_object = has_steps ? PyLong_FromLongLong(step) : Py_NewRef(Py_None);
    PyObject *epoch_object = has_epochs ? PyLong_FromLongLong(epoch) : Py_NewRef(Py_None);
    if (step_object == NULL || epoch_object == NULL) {
        Py_XDECREF(step_object);
        Py_XDECREF(epoch_object);
        Py_DECREF(floats);
        return NULL;
    }
    PyObject *answer = PyTuple_Pack(3, floats, step_object, epoch_object);
    Py_DECREF(floats);
    Py_DECREF(step_object);
    Py_DECREF(epoch_object);
    return answer;

not_plain:
    Py_DECREF(floats);
    Py_RETURN_NONE;
}

PyDoc_STRVAR(square_rows_doc,
"square_rows(rows) -> list | None\n\n"
"A copy of a square matrix given as a list of lists (each as long as there are rows) of plain ints\n"
"and floats, its rows untracked by the cyclic GC (they hold numbers only); None when `rows` is\n"
"anything else (a bool or a numpy scalar among them, a tuple...).");

static PyObject *
square_rows(PyObject *Py_UNUSED(module), PyObject *rows)
{
    if (!PyList_CheckExact(rows)) {
        Py_RETURN_NONE;
    }
    Py_ssize_t n = PyList_GET_SIZE(rows);
    /* The shape first, allocating nothing: a long flat list is refused at once, not after n
     * lists of n items were made for it. */
    for (Py_ssize_t r = 0; r < n; r++) {
        PyObject *row = PyList_GET_ITEM(rows, r);
        if (!PyList_CheckExact(row) || PyList_GET_SIZE(row) != n) {
            Py_RETURN_NONE;
        }
    }
    /* Then every list is made: an allocation may run the GC, and so Python code, which could
     * change the rows. The checks and the copy below allocate nothing: what is copied is what
     * was checked. */
    PyObject *copy = PyList_New(n);
    if (copy == NULL) {
        return NULL;
    }
    for (Py_ssize_t r = 0; r < n; r++) {
        PyObject *row_copy = PyList_New(n);
        if (row_copy == NULL) {
            Py_DECREF(copy);
            return NULL;
        }
        /* A row of numbers only cannot be part of a reference cycle, and nobody else holds it: left
         * untracked, the cyclic GC never walks it, so a matrix logged every step adds no GC pause. */
        PyObject_GC_UnTrack(row_copy);
        PyList_SET_ITEM(copy, r, row_copy);
    }
    if (PyList_GET_SIZE(rows) != n) {
        goto not_plain;
    }
    for (Py_ssize_t r = 0; r < n; r++) {
        PyObject *row = PyList_GET_ITEM(rows, r);
        if (!PyList_CheckExact(row) || PyList_GET_SIZE(row) != n) {
            goto not_plain;
        }
        PyObject *row_copy = PyList_GET_ITEM(copy, r);
        for (Py_ssize_t c = 0; c < n; c++) {
            PyObject *x = PyList_GET_ITEM(row, c);
            if (!PyFloat_CheckExact(x) && !PyLong_CheckExact(x)) {
                goto not_plain;
            }
            Py_INCREF(x);
            PyList_SET_ITEM(row_copy, c, x);
        }
    }
    return copy;

not_plain:
    Py_DECREF(copy);  /* the items not yet set are NULL, which a list's deallocation skips */
    Py_RETURN_NONE;
}

/* Whether `text` (an exact str) is ASCII, so certainly storable (see normalise/text.py). */
static int
is_ascii(PyObject *text)
{
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(text) < 0) {
        PyErr_Clear();
        return 0;
    }
#endif
    return PyUnicode_IS_ASCII(text);
}

PyDoc_STRVAR(plain_dict_doc,
"plain_dict(mapping, numbers) -> bool\n\n"
"Whether `mapping` is a dict whose keys are all ASCII strings and whose values are all plain ints\n"
"and floats (not bools) or, with numbers=False, those, bools, None and ASCII strings: a TABLE or\n"
"metrics stored as they are, with nothing to convert or check.");

static PyObject *
plain_dict(PyObject *Py_UNUSED(module), PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "plain_dict() takes a mapping and numbers");
        return NULL;
    }
    PyObject *mapping = args[0];
    int numbers = PyObject_IsTrue(args[1]);
    if (numbers < 0) {
        return NULL;
    }
    if (!PyDict_CheckExact(mapping)) {
        Py_RETURN_FALSE;
    }
    Py_ssize_t position = 0;
    PyObject *key, *value;
    /* No Python code runs in this loop: the dict cannot change under PyDict_Next. */
    while (PyDict_Next(mapping, &position, &key, &value)) {
        if (!PyUnicode_CheckExact(key) || !is_ascii(key)) {
            Py_RETURN_FALSE;
        }
        if (PyFloat_CheckExact(value) || PyLong_CheckExact(value)) {
            continue;
        }
        if (numbers || !(value == Py_None || PyBool_Check(value)
                         || (PyUnicode_CheckExact(value) && is_ascii(value)))) {
            Py_RETURN_FALSE;
        }
    }
    Py_RETURN_TRUE;
}

static PyMethodDef methods[] = {
    {"column", (PyCFunction)(void (*)(void))column, METH_FASTCALL, column_doc},
    {"one_floats", one_floats, METH_O, one_floats_doc},
    {"one_step", one_step, METH_O, one_step_doc},
    {"nested_points", nested_points, METH_O, nested_points_doc},
    {"square_rows", square_rows, METH_O, square_rows_doc},
    {"plain_dict", (PyCFunction)(void (*)(void))plain_dict, METH_FASTCALL, plain_dict_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "trackboard._plain",
    .m_doc = "The per-point type checks of log(), in C (see _plain.c).",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC
PyInit__plain(void)
{
    key_values = PyUnicode_InternFromString("values");
    key_steps = PyUnicode_InternFromString("steps");
    key_epochs = PyUnicode_InternFromString("epochs");
    if (key_values == NULL || key_steps == NULL || key_epochs == NULL) {
        return NULL;
    }
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL) {
        return NULL;
    }
    if (PyModule_AddIntConstant(module, "NOT_PLAIN", NOT_PLAIN) < 0
            || PyModule_AddIntConstant(module, "FLOATS", FLOATS) < 0
            || PyModule_AddIntConstant(module, "INTS", INTS) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}

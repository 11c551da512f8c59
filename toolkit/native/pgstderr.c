/* toolkit.native.pgstderr: placeholder, filled in by the pgstderr scanner's work (issue #12). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "toolkit.native.pgstderr", NULL, -1, NULL};

PyMODINIT_FUNC PyInit_pgstderr(void) { return PyModule_Create(&module); }

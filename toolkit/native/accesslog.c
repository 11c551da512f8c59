/* toolkit.native.accesslog: placeholder, filled in by the accesslog scanner's work (issue #12). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "toolkit.native.accesslog", NULL, -1, NULL};

PyMODINIT_FUNC PyInit_accesslog(void) { return PyModule_Create(&module); }

/* toolkit.native.slowlog: placeholder, filled in by the slowlog scanner's work (issue #12). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "toolkit.native.slowlog", NULL, -1, NULL};

PyMODINIT_FUNC PyInit_slowlog(void) { return PyModule_Create(&module); }

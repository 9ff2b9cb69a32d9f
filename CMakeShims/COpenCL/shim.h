// COpenCL: the OpenCL headers (ocl-icd-opencl-dev / opencl-headers on Debian), never linked.
// Tessera opens libOpenCL.so.1 with dlopen and resolves entry points with dlsym, so a machine
// without an ICD loader still runs every other target.
#ifndef TESSERA_COPENCL_SHIM_H
#define TESSERA_COPENCL_SHIM_H
#include <dlfcn.h>
#if __has_include(<CL/cl.h>)
#define CL_TARGET_OPENCL_VERSION 120
#define CL_USE_DEPRECATED_OPENCL_1_2_APIS
#include <CL/cl.h>
#define TESSERA_HAS_OPENCL_HEADERS 1
#else
#define TESSERA_HAS_OPENCL_HEADERS 0
#endif
#endif

// CVulkan: the Vulkan headers (libvulkan-dev on Debian), never linked. Tessera opens
// libvulkan.so.1 with dlopen and resolves every entry point through vkGetInstanceProcAddr /
// vkGetDeviceProcAddr, so a machine without the loader still runs every other target.
#ifndef TESSERA_CVULKAN_SHIM_H
#define TESSERA_CVULKAN_SHIM_H
#include <dlfcn.h>
#define VK_NO_PROTOTYPES 1
#if __has_include(<vulkan/vulkan.h>)
#include <vulkan/vulkan.h>
#define TESSERA_HAS_VULKAN_HEADERS 1
#else
#define TESSERA_HAS_VULKAN_HEADERS 0
#endif
#endif

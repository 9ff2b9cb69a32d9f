/// What discovery learns about one OpenCL device.
public struct OpenCLDeviceProperties: Hashable, Sendable {
  /// The platform, e.g. "OpenCL 3.0 PoCL 3.1+debian".
  public var platform: String
  /// The device name, e.g. "cpu-haswell-AMD EPYC 7B13".
  public var name: String
  /// The vendor.
  public var vendor: String
  /// The device type bits (`CL_DEVICE_TYPE_CPU`, `_GPU`, `_ACCELERATOR`…).
  public var type: UInt64
  /// The driver version string.
  public var driverVersion: String
  /// The OpenCL C version the compiler accepts, e.g. "OpenCL C 1.2 PoCL".
  public var openCLCVersion: String
  /// Parallel compute units.
  public var computeUnits: Int
  /// Global memory in bytes.
  public var globalMemoryBytes: Int
  /// Local (workgroup-shared) memory in bytes.
  public var localMemoryBytes: Int
  /// The largest workgroup, in work-items.
  public var maxWorkgroupSize: Int
  /// The most bytes of arguments a kernel may take (`CL_DEVICE_MAX_PARAMETER_SIZE`, at least 1024).
  public var maxParameterBytes: Int
  /// The extensions the device reports.
  public var extensions: Set<String>

  /// The most buffers a kernel may take: each is a memory object and a 32-bit byte offset.
  public var maxKernelBuffers: Int { maxParameterBytes / (MemoryLayout<OpaquePointer>.size + 4) }

  /// Whether `half` arithmetic is available (`cl_khr_fp16`).
  public var fp16: Bool { extensions.contains("cl_khr_fp16") }
  /// Whether `double` arithmetic is available (`cl_khr_fp64`).
  public var fp64: Bool { extensions.contains("cl_khr_fp64") }

  /// "GPU", "CPU", "accelerator" or "other", from ``type``.
  public var typeName: String {
    if type & 4 != 0 { return "GPU" }
    if type & 8 != 0 { return "accelerator" }
    return type & 2 != 0 ? "CPU" : "other"
  }

  /// Whether the driver runs kernels on the host's CPU (PoCL's CPU device): workgroups become
  /// loops over their work-items there, which several kernel choices and the runs' order follow.
  public var isCPU: Bool { typeName == "CPU" }

  /// Where the device comes in the numbering: GPUs first, then accelerators, then the rest, CPUs
  /// last, so that a bare `opencl` means the GPU on a machine whose ICDs also list a CPU driver.
  public static func rank(type: UInt64) -> Int {
    if type & 4 != 0 { return 0 }
    if type & 8 != 0 { return 1 }
    return type & 2 != 0 ? 3 : 2
  }

  /// One line for `tessera devices`.
  public var summary: String {
    "\(name) (\(vendor)); \(typeName); \(computeUnits) compute units; \(openCLCVersion); fp16 \(fp16 ? "yes" : "no"), "
      + "fp64 \(fp64 ? "yes" : "no"); max workgroup \(maxWorkgroupSize); local memory \(localMemoryBytes / 1024) KiB"
  }

  /// Queries `device` of `platform`.
  init(api: OpenCLAPI, platform: OpaquePointer?, device: OpaquePointer?) {
    // "OpenCL 3.0 PoCL 3.1+debian  Linux, None+Asserts, …": keep the part before the build details.
    let version = api.string(api.getPlatformInfo, platform, CL.platformVersion)
    self.platform = String(version.prefix { $0 != "," }.split(separator: " ").prefix(4).joined(separator: " "))
    name = api.string(api.getDeviceInfo, device, CL.deviceName)
    vendor = api.string(api.getDeviceInfo, device, CL.deviceVendor)
    type = api.value(api.getDeviceInfo, device, CL.deviceType, as: UInt64.self) ?? 0
    driverVersion = api.string(api.getDeviceInfo, device, CL.driverVersion)
    openCLCVersion = api.string(api.getDeviceInfo, device, CL.deviceOpenCLCVersion)
    computeUnits = Int(api.value(api.getDeviceInfo, device, CL.deviceMaxComputeUnits, as: UInt32.self) ?? 1)
    globalMemoryBytes = Int(api.value(api.getDeviceInfo, device, CL.deviceGlobalMemSize, as: UInt64.self) ?? 0)
    localMemoryBytes = Int(api.value(api.getDeviceInfo, device, CL.deviceLocalMemSize, as: UInt64.self) ?? 0)
    maxWorkgroupSize = api.value(api.getDeviceInfo, device, CL.deviceMaxWorkGroupSize, as: Int.self) ?? 1
    maxParameterBytes = api.value(api.getDeviceInfo, device, CL.deviceMaxParameterSize, as: Int.self) ?? 1024
    extensions = Set(api.string(api.getDeviceInfo, device, CL.deviceExtensions).split(separator: " ").map(String.init))
  }
}

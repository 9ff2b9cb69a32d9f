import Synchronization
import TesseraRuntime

/// The OpenCL 1.2 entry points Tessera calls, resolved with `dlsym` from the ICD loader opened
/// with `dlopen` (never linked, so a machine without OpenCL still starts).
///
/// Handles are `OpaquePointer`s; the types are written out here rather than taken from
/// `<CL/cl.h>` so that the module builds on a machine without the OpenCL headers too.
///
/// Thread safety: immutable after `init`, and the OpenCL 1.2 API is thread-safe except
/// `clSetKernelArg` on one kernel object, which ``PlanRunner`` serialises (one run at a time).
final class OpenCLAPI: @unchecked Sendable {
  typealias Handle = OpaquePointer
  typealias Status = Int32
  typealias InfoQuery =
    @convention(c) (Handle?, UInt32, Int, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?) -> Status
  typealias Release = @convention(c) (Handle?) -> Status

  /// The loader; kept open as long as any function pointer may be called.
  let library: DynamicLibrary
  /// How many ``OpenCLHandle``s made through these entry points are alive: a failed compile or
  /// run that released everything it made leaves it where it was (tests check this).
  let liveHandles = Atomic<Int>(0)
  let getPlatformIDs: @convention(c) (UInt32, UnsafeMutablePointer<Handle?>?, UnsafeMutablePointer<UInt32>?) -> Status
  let getPlatformInfo: InfoQuery
  let getDeviceIDs:
    @convention(c) (Handle?, UInt64, UInt32, UnsafeMutablePointer<Handle?>?, UnsafeMutablePointer<UInt32>?) -> Status
  let getDeviceInfo: InfoQuery
  let createContext:
    @convention(c) (
      UnsafePointer<Int>?, UInt32, UnsafePointer<Handle?>?, UnsafeRawPointer?, UnsafeMutableRawPointer?,
      UnsafeMutablePointer<Status>?
    ) -> Handle?
  let releaseContext: Release
  let createCommandQueue: @convention(c) (Handle?, Handle?, UInt64, UnsafeMutablePointer<Status>?) -> Handle?
  let releaseCommandQueue: Release
  let createBuffer:
    @convention(c) (Handle?, UInt64, Int, UnsafeMutableRawPointer?, UnsafeMutablePointer<Status>?) -> Handle?
  let releaseMemObject: Release
  let enqueueWriteBuffer:
    @convention(c) (
      Handle?, Handle?, UInt32, Int, Int, UnsafeRawPointer?, UInt32, UnsafePointer<Handle?>?,
      UnsafeMutablePointer<Handle?>?
    ) -> Status
  let enqueueReadBuffer:
    @convention(c) (
      Handle?, Handle?, UInt32, Int, Int, UnsafeMutableRawPointer?, UInt32, UnsafePointer<Handle?>?,
      UnsafeMutablePointer<Handle?>?
    ) -> Status
  let createProgramWithSource:
    @convention(c) (
      Handle?, UInt32, UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int>?, UnsafeMutablePointer<Status>?
    ) -> Handle?
  let createProgramWithBinary:
    @convention(c) (
      Handle?, UInt32, UnsafePointer<Handle?>?, UnsafePointer<Int>?, UnsafePointer<UnsafePointer<UInt8>?>?,
      UnsafeMutablePointer<Status>?, UnsafeMutablePointer<Status>?
    ) -> Handle?
  let buildProgram:
    @convention(c) (
      Handle?, UInt32, UnsafePointer<Handle?>?, UnsafePointer<CChar>?, UnsafeRawPointer?, UnsafeMutableRawPointer?
    ) -> Status
  let getProgramBuildInfo:
    @convention(c) (Handle?, Handle?, UInt32, Int, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?) -> Status
  let getProgramInfo: InfoQuery
  let releaseProgram: Release
  let createKernel: @convention(c) (Handle?, UnsafePointer<CChar>?, UnsafeMutablePointer<Status>?) -> Handle?
  let releaseKernel: Release
  let setKernelArg: @convention(c) (Handle?, UInt32, Int, UnsafeRawPointer?) -> Status
  let enqueueNDRangeKernel:
    @convention(c) (
      Handle?, Handle?, UInt32, UnsafePointer<Int>?, UnsafePointer<Int>?, UnsafePointer<Int>?, UInt32,
      UnsafePointer<Handle?>?, UnsafeMutablePointer<Handle?>?
    ) -> Status
  let flush: Release
  let finish: Release
  let getEventProfilingInfo: InfoQuery
  let releaseEvent: Release
  let enqueueFillBuffer:
    @convention(c) (
      Handle?, Handle?, UnsafeRawPointer?, Int, Int, Int, UInt32, UnsafePointer<Handle?>?,
      UnsafeMutablePointer<Handle?>?
    ) -> Status

  /// Resolves every entry point; throws the name of the first one missing.
  init(library: DynamicLibrary) throws(OpenCLError) {
    self.library = library
    func resolve<T>(_ name: String) throws(OpenCLError) -> T {
      guard let function = library.function(name, as: T.self) else { throw .missingEntryPoint(name: name) }
      return function
    }
    getPlatformIDs = try resolve("clGetPlatformIDs")
    getPlatformInfo = try resolve("clGetPlatformInfo")
    getDeviceIDs = try resolve("clGetDeviceIDs")
    getDeviceInfo = try resolve("clGetDeviceInfo")
    createContext = try resolve("clCreateContext")
    releaseContext = try resolve("clReleaseContext")
    createCommandQueue = try resolve("clCreateCommandQueue")
    releaseCommandQueue = try resolve("clReleaseCommandQueue")
    createBuffer = try resolve("clCreateBuffer")
    releaseMemObject = try resolve("clReleaseMemObject")
    enqueueWriteBuffer = try resolve("clEnqueueWriteBuffer")
    enqueueReadBuffer = try resolve("clEnqueueReadBuffer")
    createProgramWithSource = try resolve("clCreateProgramWithSource")
    createProgramWithBinary = try resolve("clCreateProgramWithBinary")
    buildProgram = try resolve("clBuildProgram")
    getProgramBuildInfo = try resolve("clGetProgramBuildInfo")
    getProgramInfo = try resolve("clGetProgramInfo")
    releaseProgram = try resolve("clReleaseProgram")
    createKernel = try resolve("clCreateKernel")
    releaseKernel = try resolve("clReleaseKernel")
    setKernelArg = try resolve("clSetKernelArg")
    enqueueNDRangeKernel = try resolve("clEnqueueNDRangeKernel")
    flush = try resolve("clFlush")
    finish = try resolve("clFinish")
    getEventProfilingInfo = try resolve("clGetEventProfilingInfo")
    releaseEvent = try resolve("clReleaseEvent")
    enqueueFillBuffer = try resolve("clEnqueueFillBuffer")
  }

  /// Throws ``OpenCLError/call(function:code:)`` unless `status` is `CL_SUCCESS`.
  func check(_ status: Status, _ function: String) throws(OpenCLError) {
    guard status == 0 else { throw .call(function: function, code: status) }
  }

  /// A string property (`CL_DEVICE_NAME`…), "?" when the query fails.
  func string(_ query: InfoQuery, _ object: Handle?, _ parameter: UInt32) -> String {
    var size = 0
    guard query(object, parameter, 0, nil, &size) == 0, size > 0 else { return "?" }
    var buffer = [UInt8](repeating: 0, count: size)
    guard query(object, parameter, size, &buffer, nil) == 0 else { return "?" }
    let text = String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self)
    return String(text.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
  }

  /// A fixed-size property (`cl_uint`, `cl_ulong`, `size_t`), `nil` when the query fails.
  func value<T: FixedWidthInteger>(_ query: InfoQuery, _ object: Handle?, _ parameter: UInt32, as: T.Type) -> T? {
    var result: T = 0
    return query(object, parameter, MemoryLayout<T>.size, &result, nil) == 0 ? result : nil
  }
}

/// Constants from the OpenCL 1.2 specification (`CL/cl.h`).
enum CL {
  static let deviceTypeAll: UInt64 = 0xFFFF_FFFF
  static let platformVersion: UInt32 = 0x0901
  static let platformName: UInt32 = 0x0902
  static let deviceType: UInt32 = 0x1000
  static let deviceMaxComputeUnits: UInt32 = 0x1002
  static let deviceMaxWorkGroupSize: UInt32 = 0x1004
  static let deviceMaxParameterSize: UInt32 = 0x1017
  static let deviceGlobalMemSize: UInt32 = 0x101F
  static let deviceLocalMemSize: UInt32 = 0x1023
  static let deviceName: UInt32 = 0x102B
  static let deviceVendor: UInt32 = 0x102C
  static let driverVersion: UInt32 = 0x102D
  static let deviceVersion: UInt32 = 0x102F
  static let deviceExtensions: UInt32 = 0x1030
  static let deviceOpenCLCVersion: UInt32 = 0x103D
  static let queueProfilingEnable: UInt64 = 1 << 1
  static let memReadWrite: UInt64 = 1 << 0
  static let memObjectAllocationFailure: Int32 = -4
  static let programBinarySizes: UInt32 = 0x1165
  static let programBinaries: UInt32 = 0x1166
  static let programBuildLog: UInt32 = 0x1183
  static let profilingCommandStart: UInt32 = 0x1282
  static let profilingCommandEnd: UInt32 = 0x1283

  /// The name of an OpenCL status code, e.g. `CL_INVALID_WORK_GROUP_SIZE`.
  static func statusName(_ code: Int32) -> String {
    let names: [Int32: String] = [
      -1: "CL_DEVICE_NOT_FOUND", -2: "CL_DEVICE_NOT_AVAILABLE", -3: "CL_COMPILER_NOT_AVAILABLE",
      -4: "CL_MEM_OBJECT_ALLOCATION_FAILURE", -5: "CL_OUT_OF_RESOURCES", -6: "CL_OUT_OF_HOST_MEMORY",
      -11: "CL_BUILD_PROGRAM_FAILURE", -30: "CL_INVALID_VALUE", -33: "CL_INVALID_DEVICE", -34: "CL_INVALID_CONTEXT",
      -36: "CL_INVALID_COMMAND_QUEUE", -38: "CL_INVALID_MEM_OBJECT", -42: "CL_INVALID_BINARY",
      -43: "CL_INVALID_BUILD_OPTIONS", -44: "CL_INVALID_PROGRAM", -45: "CL_INVALID_PROGRAM_EXECUTABLE",
      -46: "CL_INVALID_KERNEL_NAME", -48: "CL_INVALID_KERNEL", -49: "CL_INVALID_ARG_INDEX",
      -50: "CL_INVALID_ARG_VALUE", -51: "CL_INVALID_ARG_SIZE", -52: "CL_INVALID_KERNEL_ARGS",
      -53: "CL_INVALID_WORK_DIMENSION", -54: "CL_INVALID_WORK_GROUP_SIZE", -55: "CL_INVALID_WORK_ITEM_SIZE",
      -61: "CL_INVALID_BUFFER_SIZE", -63: "CL_INVALID_GLOBAL_WORK_SIZE", -1001: "CL_PLATFORM_NOT_FOUND_KHR",
    ]
    return names[code] ?? "OpenCL error"
  }
}

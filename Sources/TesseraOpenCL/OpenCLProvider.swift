import TesseraRuntime

/// Lists every OpenCL device (`opencl:0`, `opencl:1`, …) through the ICD loader, opened with
/// `dlopen`. No loader or no platform gives one unavailable entry with the reason.
///
/// Code generation for OpenCL is not part of Tessera yet, so every device found is listed as
/// unavailable with that reason and its driver details.
public struct OpenCLProvider: DeviceProvider {
  /// Creates the provider.
  public init() {}

  /// Enumerates platforms and devices.
  public func discover() -> [DeviceEntry] {
    let library: DynamicLibrary
    do {
      library = try DynamicLibrary(firstOf: ["libOpenCL.so.1", "libOpenCL.so"])
    } catch {
      return [unavailable("opencl", "no OpenCL ICD loader (libOpenCL.so.1): \(error.message)")]
    }
    guard let api = OpenCLProbe(library: library) else {
      return [unavailable("opencl", "\(library.name) lacks clGetPlatformIDs/clGetDeviceIDs")]
    }
    let devices = api.devices()
    if devices.isEmpty {
      return [
        unavailable(
          "opencl",
          "the ICD loader found no OpenCL platform with a device (is an ICD such as pocl-opencl-icd installed?)")
      ]
    }
    return devices.enumerated().map { index, device in
      DeviceEntry(
        unavailable: DeviceInfo(
          name: "opencl:\(index)", kind: .opencl, summary: device.name, driver: device.driver,
          memoryBytes: device.memoryBytes,
          availability: .unavailable(reason: "driver found; the OpenCL code generator is not built yet")))
    }
  }

  private func unavailable(_ name: String, _ reason: String) -> DeviceEntry {
    DeviceEntry(
      unavailable: DeviceInfo(
        name: name, kind: .opencl, summary: "-", driver: "-", availability: .unavailable(reason: reason)))
  }
}

/// The handful of OpenCL entry points discovery needs, resolved with `dlsym`.
private struct OpenCLProbe {
  typealias GetPlatformIDs =
    @convention(c) (UInt32, UnsafeMutablePointer<OpaquePointer?>?, UnsafeMutablePointer<UInt32>?) -> Int32
  typealias GetDeviceIDs =
    @convention(c) (
      OpaquePointer?, UInt64, UInt32, UnsafeMutablePointer<OpaquePointer?>?, UnsafeMutablePointer<UInt32>?
    ) -> Int32
  typealias GetInfo =
    @convention(c) (OpaquePointer?, UInt32, Int, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int>?) -> Int32

  struct Found {
    var name: String
    var driver: String
    var memoryBytes: Int?
  }

  // Constants from the OpenCL 1.2 specification.
  private static let deviceTypeAll: UInt64 = 0xFFFF_FFFF
  private static let platformVersion: UInt32 = 0x0901
  private static let deviceName: UInt32 = 0x102B, driverVersion: UInt32 = 0x102D, globalMemSize: UInt32 = 0x101F

  let getPlatformIDs: GetPlatformIDs
  let getDeviceIDs: GetDeviceIDs
  let getPlatformInfo: GetInfo
  let getDeviceInfo: GetInfo

  init?(library: DynamicLibrary) {
    guard let getPlatformIDs = library.function("clGetPlatformIDs", as: GetPlatformIDs.self),
      let getDeviceIDs = library.function("clGetDeviceIDs", as: GetDeviceIDs.self),
      let getPlatformInfo = library.function("clGetPlatformInfo", as: GetInfo.self),
      let getDeviceInfo = library.function("clGetDeviceInfo", as: GetInfo.self)
    else { return nil }
    self.getPlatformIDs = getPlatformIDs
    self.getDeviceIDs = getDeviceIDs
    self.getPlatformInfo = getPlatformInfo
    self.getDeviceInfo = getDeviceInfo
  }

  func devices() -> [Found] {
    var platformCount: UInt32 = 0
    guard getPlatformIDs(0, nil, &platformCount) == 0, platformCount > 0 else { return [] }
    var platforms = [OpaquePointer?](repeating: nil, count: Int(platformCount))
    guard getPlatformIDs(platformCount, &platforms, nil) == 0 else { return [] }
    var found: [Found] = []
    for platform in platforms {
      // "OpenCL 3.0 PoCL 3.1+debian  Linux, None+Asserts, …": keep the part before the build details.
      let version = string(getPlatformInfo, platform, Self.platformVersion)
      let platformText = String(version.prefix { $0 != "," }.split(separator: " ").prefix(4).joined(separator: " "))
      var deviceCount: UInt32 = 0
      guard getDeviceIDs(platform, Self.deviceTypeAll, 0, nil, &deviceCount) == 0, deviceCount > 0 else { continue }
      var devices = [OpaquePointer?](repeating: nil, count: Int(deviceCount))
      guard getDeviceIDs(platform, Self.deviceTypeAll, deviceCount, &devices, nil) == 0 else { continue }
      for device in devices {
        var memory: UInt64 = 0
        let memoryStatus = getDeviceInfo(device, Self.globalMemSize, 8, &memory, nil)
        found.append(
          Found(
            name: string(getDeviceInfo, device, Self.deviceName),
            driver: platformText + ", driver " + string(getDeviceInfo, device, Self.driverVersion),
            memoryBytes: memoryStatus == 0 ? Int(memory) : nil))
      }
    }
    return found
  }

  private func string(_ query: GetInfo, _ object: OpaquePointer?, _ parameter: UInt32) -> String {
    var size = 0
    guard query(object, parameter, 0, nil, &size) == 0, size > 0 else { return "?" }
    var buffer = [UInt8](repeating: 0, count: size)
    guard query(object, parameter, size, &buffer, nil) == 0 else { return "?" }
    return String(decoding: buffer.prefix { $0 != 0 }, as: UTF8.self).trimmingCharacters()
  }
}

extension String {
  fileprivate func trimmingCharacters() -> String {
    String(self.drop { $0 == " " }.reversed().drop { $0 == " " }.reversed())
  }
}

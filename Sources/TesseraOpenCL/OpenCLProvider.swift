import TesseraCompiler
import TesseraRuntime

/// Lists every OpenCL device (`opencl:0`, `opencl:1`, …) of every platform through the ICD
/// loader, opened with `dlopen`, GPUs numbered first. No loader, no platform or a device that fails to initialise
/// gives an unavailable entry with the reason; nothing here crashes or throws.
public struct OpenCLProvider: DeviceProvider {
  /// Every device it lists is `opencl`.
  public var kind: DeviceKind? { .opencl }
  private let options: CompileOptions
  private let hostRunner: (any HostKernelRunner)?
  private let faults: FaultInjection

  /// Creates the provider; its devices compile with `options`, run the plan steps that fall
  /// back to the host with `hostRunner`, and inject `faults` (none by default).
  public init(
    options: CompileOptions = CompileOptions(), hostRunner: (any HostKernelRunner)? = nil,
    faults: FaultInjection = FaultInjection()
  ) {
    self.options = options
    self.hostRunner = hostRunner
    self.faults = faults
  }

  /// Enumerates platforms and devices.
  public func discover() -> [DeviceEntry] {
    let api: OpenCLAPI
    do {
      api = try OpenCLAPI(library: try DynamicLibrary(firstOf: ["libOpenCL.so.1", "libOpenCL.so"]))
    } catch let error as DynamicLibraryError {
      return [unavailable("opencl", "no OpenCL ICD loader (libOpenCL.so.1): \(error.message)")]
    } catch {
      return [unavailable("opencl", "\(error)")]
    }
    let found = Self.devices(api)
    if found.isEmpty {
      return [
        unavailable(
          "opencl",
          "the ICD loader found no OpenCL platform with a device (is an ICD such as pocl-opencl-icd installed?)")
      ]
    }
    let described = found.map { ($0, OpenCLDeviceProperties(api: api, platform: $0.platform, device: $0.device)) }
    let order = Self.numbering(types: described.map(\.1.type))
    return order.enumerated().map { index, position in
      let name = "opencl:\(index)"
      let (pair, properties) = described[position]
      do {
        return DeviceEntry(
          device: try OpenCLDevice(
            name: name, api: api, device: pair.device, properties: properties, options: options,
            hostRunner: hostRunner, faults: faults))
      } catch {
        return DeviceEntry(
          unavailable: DeviceInfo(
            name: name, kind: .opencl, summary: properties.summary,
            driver: properties.platform + ", driver " + properties.driverVersion,
            memoryBytes: properties.globalMemoryBytes,
            availability: .unavailable(reason: "could not create a context and queue: \(error)")))
      }
    }
  }

  /// The discovery positions of devices of `types` in the order they are numbered: by
  /// ``OpenCLDeviceProperties/rank(type:)``, then in discovery order.
  static func numbering(types: [UInt64]) -> [Int] {
    types.indices.sorted {
      (OpenCLDeviceProperties.rank(type: types[$0]), $0) < (OpenCLDeviceProperties.rank(type: types[$1]), $1)
    }
  }

  private static func devices(_ api: OpenCLAPI) -> [(platform: OpaquePointer?, device: OpaquePointer?)] {
    var platformCount: UInt32 = 0
    guard api.getPlatformIDs(0, nil, &platformCount) == 0, platformCount > 0 else { return [] }
    var platforms = [OpaquePointer?](repeating: nil, count: Int(platformCount))
    guard api.getPlatformIDs(platformCount, &platforms, nil) == 0 else { return [] }
    var found: [(OpaquePointer?, OpaquePointer?)] = []
    for platform in platforms {
      var deviceCount: UInt32 = 0
      guard api.getDeviceIDs(platform, CL.deviceTypeAll, 0, nil, &deviceCount) == 0, deviceCount > 0 else { continue }
      var devices = [OpaquePointer?](repeating: nil, count: Int(deviceCount))
      guard api.getDeviceIDs(platform, CL.deviceTypeAll, deviceCount, &devices, nil) == 0 else { continue }
      found += devices.map { (platform, $0) }
    }
    return found
  }

  private func unavailable(_ name: String, _ reason: String) -> DeviceEntry {
    DeviceEntry(
      unavailable: DeviceInfo(
        name: name, kind: .opencl, summary: "-", driver: "-", availability: .unavailable(reason: reason)))
  }
}

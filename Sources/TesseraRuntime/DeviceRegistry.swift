import TesseraIR

/// One listed device: what is known about it, and the device itself when it is usable.
public struct DeviceEntry: Sendable {
  /// Name, kind, driver, availability.
  public var info: DeviceInfo
  /// The device; `nil` when ``DeviceInfo/availability`` is unavailable.
  public var device: (any Device)?

  /// Creates an entry for a usable device.
  public init(device: any Device) {
    self.info = device.info
    self.device = device
  }

  /// Creates an entry for a device that cannot be used, with the reason.
  public init(unavailable info: DeviceInfo) {
    self.info = info
    self.device = nil
  }
}

/// Finds the devices of one backend (every OpenCL device, every Vulkan device…).
///
/// Discovery never throws: a missing driver becomes an unavailable entry with the reason.
public protocol DeviceProvider: Sendable {
  /// Lists this backend's devices.
  func discover() -> [DeviceEntry]
}

/// Every device of every backend, discovered once. The `Tessera` umbrella module builds the
/// standard registry from all backends; this module knows none of them.
public final class DeviceRegistry: Sendable {
  /// Every device found, usable or not, in provider order.
  public let entries: [DeviceEntry]

  /// Discovers the devices of `providers` now.
  public init(providers: [any DeviceProvider]) {
    entries = providers.flatMap { $0.discover() }
  }

  /// The usable devices.
  public var availableDevices: [any Device] { entries.compactMap(\.device) }

  /// The device called `name`. A bare kind (`opencl`, `vulkan`) means its first device.
  public func device(named name: String) throws(DeviceError) -> any Device {
    let candidates = entries.filter { $0.info.name == name }
    let entry = candidates.first ?? entries.first { $0.info.name.hasPrefix(name + ":") }
    guard let entry else { throw .unknownDevice(name: name, known: entries.map(\.info.name)) }
    guard let device = entry.device else {
      if case .unavailable(let reason) = entry.info.availability {
        throw .unavailable(name: entry.info.name, reason: reason)
      }
      throw .unavailable(name: entry.info.name, reason: "no device object")
    }
    return device
  }
}

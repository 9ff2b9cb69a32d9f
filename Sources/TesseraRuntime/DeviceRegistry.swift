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

  /// Checks that every fault of `faults` names a listed device (`opencl` or `opencl:1`), and that
  /// at least one usable device it names injects its kind; fails with
  /// ``DeviceError/invalidFault(entry:problem:)`` otherwise. A fault for devices that are all
  /// unusable passes: nothing will run there.
  public func check(_ faults: FaultInjection) throws(DeviceError) {
    for fault in faults.faults {
      // A backend that found no usable device may list one entry under its bare kind (`opencl`).
      let kind = String(fault.device.prefix { $0 != ":" })
      let named = entries.filter { fault.hits(device: $0.info.name) || ($0.device == nil && $0.info.name == kind) }
      guard !named.isEmpty else {
        throw .invalidFault(
          entry: fault.description,
          problem: "no device \(fault.device) (devices: \(entries.map(\.info.name).joined(separator: ", ")))")
      }
      let usable = named.compactMap(\.device)
      guard usable.isEmpty || usable.contains(where: { $0.injectableFaults.contains(fault.kind) }) else {
        let injects = usable[0].injectableFaults.map(\.rawValue).sorted()
        throw .invalidFault(
          entry: fault.description,
          problem: "\(usable[0].info.name) injects no \(fault.kind.rawValue) faults (it injects "
            + (injects.isEmpty ? "none" : injects.joined(separator: ", ")) + ")")
      }
    }
  }
}

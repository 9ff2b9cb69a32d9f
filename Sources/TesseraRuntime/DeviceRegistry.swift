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
  /// The kind of every device this provider lists, or `nil` when it may list several kinds.
  /// A registry discovers a provider with a kind only when a device of that kind is asked for,
  /// so running on `cpu` never opens the OpenCL or Vulkan loader (and the drivers they load).
  var kind: DeviceKind? { get }

  /// Lists this backend's devices.
  func discover() -> [DeviceEntry]
}

extension DeviceProvider {
  /// No declared kind: discovered for every lookup.
  public var kind: DeviceKind? { nil }
}

/// Every device of every backend, each backend discovered once, when first needed: a lookup by
/// name discovers only the providers of that kind (and those without a declared kind);
/// ``entries`` and ``availableDevices`` discover them all. The `Tessera` umbrella module builds
/// the standard registry from all backends; this module knows none of them.
public final class DeviceRegistry: Sendable {
  private let providers: [any DeviceProvider]
  /// What each provider found, by provider index, once it was asked.
  private let discovered = Locked<[Int: [DeviceEntry]]>([:])

  /// A registry over `providers`, listed in this order; nothing is discovered yet.
  public init(providers: [any DeviceProvider]) {
    self.providers = providers
  }

  /// Every device found, usable or not, in provider order (discovering every provider).
  public var entries: [DeviceEntry] { entries(of: providers.indices) }

  /// The usable devices.
  public var availableDevices: [any Device] { entries.compactMap(\.device) }

  /// The device called `name`. A bare kind (`opencl`, `vulkan`) means its first device.
  public func device(named name: String) throws(DeviceError) -> any Device {
    let kind = DeviceKind(rawValue: String(name.prefix { $0 != ":" }))
    let asked = providers.indices.filter { kind == nil || providers[$0].kind == nil || providers[$0].kind == kind }
    let known = entries(of: asked)
    let candidates = known.filter { $0.info.name == name }
    let entry = candidates.first ?? known.first { $0.info.name.hasPrefix(name + ":") }
    guard let entry else { throw .unknownDevice(name: name, known: entries.map(\.info.name)) }
    guard let device = entry.device else {
      if case .unavailable(let reason) = entry.info.availability {
        throw .unavailable(name: entry.info.name, reason: reason)
      }
      throw .unavailable(name: entry.info.name, reason: "no device object")
    }
    return device
  }

  /// The entries of the providers at `indices`, discovering those not asked before.
  private func entries(of indices: some Sequence<Int>) -> [DeviceEntry] {
    discovered.withLock { found in
      indices.flatMap { index in
        if let entries = found[index] { return entries }
        let entries = providers[index].discover()
        found[index] = entries
        return entries
      }
    }
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

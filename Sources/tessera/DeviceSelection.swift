import Tessera

/// The devices a command runs on: the standard registry with the faults `TESSERA_FAULT` asks
/// for, and `--fallback D`, which redoes on D what the chosen device fails.
enum DeviceSelection {
  /// `--fallback D`.
  static let fallbackOption = OptionSpec(
    name: "--fallback", valueName: "D",
    help:
      "When the device fails (unusable, out of memory, kernel build, timeout), warn and redo the work on D (e.g. cpu).")

  /// The standard registry, its devices injecting the faults of `TESSERA_FAULT` (checked against
  /// the devices, with a note on standard error when there are any).
  static func registry() throws -> DeviceRegistry {
    let faults = try FaultInjection.fromEnvironment()
    let registry = DeviceRegistry.standard(faults: faults)
    try registry.check(faults)
    if !faults.isEmpty { printError("note: \(FaultInjection.environmentVariable)=\(faults): injecting faults") }
    return registry
  }

  /// The devices `name` means (`all`: every usable one), each wrapped in a ``FallbackDevice``
  /// that warns on standard error when `fallback` names a device. A device that is unusable
  /// gives way to the fallback at once, with a warning.
  static func devices(_ name: String, fallback: String?, in registry: DeviceRegistry) throws -> [any Device] {
    guard let fallback else {
      return name == "all" ? registry.availableDevices : [try registry.device(named: name)]
    }
    let spare = try registry.device(named: fallback)
    guard name != "all" else { return registry.availableDevices.map { wrap($0, spare) } }
    let primary: any Device
    do throws(DeviceError) {
      primary = try registry.device(named: name)
    } catch {
      guard error.isDeviceFailure else { throw error }
      printError("warning: \(error); running on \(spare.info.name) instead")
      return [spare]
    }
    return [wrap(primary, spare)]
  }

  /// The device that did the work: the fallback (and which device it stood in for) once work
  /// moved there, else the device itself.
  static func name(_ device: any Device) -> String {
    guard let wrapped = device as? FallbackDevice, !wrapped.events.isEmpty else { return device.info.name }
    return "\(wrapped.fallback.info.name) (fallback for \(wrapped.primary.info.name))"
  }

  private static func wrap(_ primary: any Device, _ spare: any Device) -> any Device {
    guard primary !== spare else { return primary }
    return FallbackDevice(primary: primary, fallback: spare) { printError("warning: \($0)") }
  }
}

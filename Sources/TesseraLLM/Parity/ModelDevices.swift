import TesseraRuntime

/// Which devices "all" means for a model.
public enum ModelDevices {
  /// Models above this many parameters leave interpreter devices (`kir`) out of "all".
  public static let interpreterParameterLimit = 10_000_000

  /// The usable devices of `registry` for `model`, and a note for each device left out: `kir`
  /// for models over ``interpreterParameterLimit`` (it is an interpreter), and unusable devices
  /// with their reasons.
  public static func all(in registry: DeviceRegistry, for model: LlamaModel) -> (devices: [any Device], notes: [String])
  {
    var devices = registry.availableDevices
    var notes: [String] = []
    if model.parameterCount > interpreterParameterLimit {
      devices.removeAll { $0.info.kind == .kir }
      notes.append(
        "kir (the Kernel IR interpreter) is left out of 'all' for models over \(interpreterParameterLimit / 1_000_000)M parameters; name it to include it"
      )
    }
    for entry in registry.entries {
      if case .unavailable(let reason) = entry.info.availability {
        notes.append("\(entry.info.name) unavailable: \(reason)")
      }
    }
    return (devices, notes)
  }
}

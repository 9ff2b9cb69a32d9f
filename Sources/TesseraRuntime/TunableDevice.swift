import TesseraCompiler

/// A device whose kernels' launch shapes can be measured on it and chosen (`tessera tune`): the
/// GPU targets. The chosen ``KernelTuning`` is kept in the device's ``TuningFile`` and read
/// when the device is opened; without one the device uses the defaults derived from its limits.
public protocol TunableDevice: Device {
  /// Identifies the device and its driver version: a tuning is kept for one key.
  var tuningKey: String { get }
  /// What the device compiles for, with the tuning in use (``TargetCapabilities/tuning``).
  var capabilities: TargetCapabilities { get }
  /// The most work-items one workgroup may have on the device.
  var maxWorkgroupSize: Int { get }
  /// The most bytes of shared (local) memory one workgroup may have on the device.
  var maxSharedMemoryBytes: Int { get }
  /// Why the device's tuning file was not used when it was opened; `nil` when it was used or
  /// there was none.
  var tuningProblem: TuningFileError? { get }
  /// A copy of the device that compiles with `tuning` in place of its own.
  func tuned(_ tuning: KernelTuning) throws(DeviceError) -> any TunableDevice
}

extension TunableDevice {
  /// Where this device's tuning is kept.
  public var tuningPath: String { TuningFile.path(kind: info.kind, deviceKey: tuningKey) }

  /// The tuning in the device's file, or the reason it cannot be used (unreadable, another
  /// device's, or a shape the device cannot launch: `subgroupSize` and `maxWorkgroupSize` are its
  /// limits); empty when there is no file. For a device's initialiser.
  public static func storedTuning(kind: DeviceKind, deviceKey: String, subgroupSize: Int?, maxWorkgroupSize: Int)
    -> (KernelTuning, TuningFileError?)
  {
    let path = TuningFile.path(kind: kind, deviceKey: deviceKey)
    do throws(TuningFileError) {
      let tuning = try TuningFile.load(path: path, deviceKey: deviceKey) ?? KernelTuning()
      if let problem = tuning.quantizedMatmul?.problem(subgroupSize: subgroupSize, maxWorkgroupSize: maxWorkgroupSize) {
        throw TuningFileError(path: path, problem: "its quantized matmul shape: " + problem)
      }
      return (tuning, nil)
    } catch {
      return (KernelTuning(), error)
    }
  }
}

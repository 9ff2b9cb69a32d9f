import TesseraCompiler

/// What `tessera compile --target NAME` compiles for, as the backend declares it: the ops and
/// dtypes it runs (the rest goes to the fallback), and the artifacts it can write for a plan
/// beyond the ones every target has (`graph`, `plan`, `kir`).
public struct CompileTarget: Sendable {
  /// Writes an artifact of a plan: (file name, bytes) per file.
  public typealias Emitter = @Sendable (CompiledPlan) throws -> [(name: String, bytes: [UInt8])]

  /// The capabilities the compiler partitions with; their name names the target.
  public var capabilities: TargetCapabilities
  /// The backend's artifacts by `--emit` name.
  public var emitters: [String: Emitter]
  /// The artifacts that are binary files (written only to a folder).
  public var binaryArtifacts: Set<String>

  /// A target with its capabilities and artifacts.
  public init(capabilities: TargetCapabilities, emitters: [String: Emitter] = [:], binaryArtifacts: Set<String> = []) {
    self.capabilities = capabilities
    self.emitters = emitters
    self.binaryArtifacts = binaryArtifacts
  }

  /// The target's name (`opencl`, `npu`…).
  public var name: String { capabilities.name }
}

import Foundation
import TesseraCompiler

/// A device's tuning on disk: `${TESSERA_CACHE:-~/.cache/tessera}/tuning/<kind>-<hash>.json`,
/// where the hash is of the device's tuning key (its name, vendor and driver version), so a new
/// driver starts from the defaults again. The file holds the key in plain text beside the
/// ``KernelTuning``: `{"device": "…", "tuning": {"quantizedMatmul": {"lanes": 8, …}}}`.
public enum TuningFile {
  /// Where the tuning of the device of `kind` with `deviceKey` lives; `root` is the cache
  /// folder (default: `TESSERA_CACHE`, else `~/.cache/tessera`).
  public static func path(kind: DeviceKind, deviceKey: String, root: String? = nil) -> String {
    let folder = root ?? CacheFolder.root
    return folder + "/tuning/\(kind.rawValue)-\(StableHash.hex(deviceKey)).json"
  }

  private struct Stored: Codable {
    var device: String
    var tuning: KernelTuning
  }

  /// The tuning stored at `path` for the device `deviceKey`; `nil` when there is no file.
  /// Throws when the file cannot be read, is not a tuning, or was written for another device.
  public static func load(path: String, deviceKey: String) throws(TuningFileError) -> KernelTuning? {
    guard FileManager.default.fileExists(atPath: path) else { return nil }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw TuningFileError(path: path, problem: "it cannot be read")
    }
    let stored: Stored
    do {
      stored = try JSONDecoder().decode(Stored.self, from: data)
    } catch {
      throw TuningFileError(path: path, problem: "it is not a tuning file (\(describe(error)))")
    }
    guard stored.device == deviceKey else {
      throw TuningFileError(path: path, problem: "it was written for '\(stored.device)', not '\(deviceKey)'")
    }
    return stored.tuning
  }

  /// Writes `tuning` for the device `deviceKey` to `path` (folders made, replaced atomically).
  public static func save(_ tuning: KernelTuning, deviceKey: String, to path: String) throws(TuningFileError) {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    do {
      let data = try encoder.encode(Stored(device: deviceKey, tuning: tuning))
      try FileManager.default.createDirectory(
        atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
      throw TuningFileError(path: path, problem: "it cannot be written (\(error.localizedDescription))")
    }
  }

  /// What a device's driver line says of its tuning: `, tuned (8 lanes x 16 rows, …)`, `,
  /// tuning file not used (…)`, or nothing for the defaults.
  public static func note(_ tuning: KernelTuning, problem: TuningFileError?) -> String {
    if let problem { return ", tuning file not used (\(problem.problem))" }
    let shapes =
      [tuning.quantizedMatmul.map { "quantized matmul \($0)" }, tuning.stagedMatmul.map { "staged matmul \($0)" }]
      .compactMap { $0 }
    return shapes.isEmpty ? "" : ", tuned (\(shapes.joined(separator: "; ")))"
  }

  /// A decoding error in a few words: what is missing or of the wrong type, and where.
  private static func describe(_ error: any Error) -> String {
    guard let error = error as? DecodingError else { return "\(error)" }
    func at(_ path: [any CodingKey]) -> String {
      path.isEmpty
        ? "at the top level"
        : "at " + path.map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
    }
    switch error {
    case .dataCorrupted(let context): return "not valid JSON " + at(context.codingPath)
    case .keyNotFound(let key, let context): return "no '\(key.stringValue)' " + at(context.codingPath)
    case .typeMismatch(_, let context), .valueNotFound(_, let context): return "a wrong value " + at(context.codingPath)
    @unknown default: return "\(error)"
    }
  }
}

/// A tuning file that cannot be used: its path and why.
public struct TuningFileError: Error, CustomStringConvertible, Equatable {
  /// The file.
  public var path: String
  /// What is wrong with it.
  public var problem: String

  /// `the tuning file PATH cannot be used: PROBLEM`.
  public var description: String { "the tuning file \(path) cannot be used: \(problem)" }
}

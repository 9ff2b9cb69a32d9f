import Foundation

/// Deterministic mode: on each device, bit-identical results from run to run and whatever the
/// thread count (`TESSERA_THREADS`), by fixing every reduction's order and split.
///
/// Most of Tessera is deterministic anyway (see docs/determinism.md): kernels split outputs, not
/// reductions, across threads and workgroups, and no kernel accumulates with atomics. The mode
/// pins the exceptions: on `cpu`, a matmul's route no longer depends on the thread count. It
/// promises nothing across devices: there, greedy tokens and the stated |Δlogit| bounds hold.
/// `TESSERA_DETERMINISTIC=1` turns it on for the library and the benchmarks; the CLI's
/// `--deterministic` sets the variable.
public enum Determinism {
  /// `TESSERA_DETERMINISTIC`.
  public static let environmentVariable = "TESSERA_DETERMINISTIC"

  /// What `environment` asks for: on for `1`, `true` or `yes`; off when unset, empty, `0`,
  /// `false` or `no`; `nil` (a mistake to report) for anything else.
  public static func requested(in environment: [String: String] = ProcessInfo.processInfo.environment) -> Bool? {
    switch environment[environmentVariable]?.lowercased() {
    case nil, "", "0", "false", "no": false
    case "1", "true", "yes": true
    default: nil
    }
  }

  /// Why `environment`'s value is not understood, or `nil` when it is.
  public static func problem(in environment: [String: String] = ProcessInfo.processInfo.environment) -> String? {
    guard requested(in: environment) == nil else { return nil }
    return "\(environmentVariable)='\(environment[environmentVariable] ?? "")' is not 1 or 0"
  }
}

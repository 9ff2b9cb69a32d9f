import Foundation

/// The process's peak resident memory, from `/proc/self/status` (`VmHWM`).
public enum PeakMemory {
  /// Bytes, or `nil` where `/proc` does not say (not Linux).
  public static func residentBytes() -> Int? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }) else { return nil }
    let kilobytes = line.split(separator: " ").compactMap { Int($0) }.first
    return kilobytes.map { $0 * 1024 }
  }
}

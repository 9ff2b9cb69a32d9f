import Foundation

/// Tessera's cache folder: `TESSERA_CACHE` when set, else `~/.cache/tessera`. Models, OpenCL
/// program binaries, the Vulkan pipeline cache and device tunings each keep a folder in it.
public enum CacheFolder {
  /// The cache folder for this process's environment.
  public static var root: String {
    ProcessInfo.processInfo.environment["TESSERA_CACHE"] ?? (NSHomeDirectory() + "/.cache/tessera")
  }
}

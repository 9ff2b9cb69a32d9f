import Foundation

/// Tessera's cache folder: `TESSERA_CACHE` when set and not empty, else `~/.cache/tessera` (the
/// README's `${TESSERA_CACHE:-~/.cache/tessera}`, as the scripts read it). Models, OpenCL
/// program binaries, the Vulkan pipeline cache and device tunings each keep a folder in it.
public enum CacheFolder {
  /// The cache folder for this process's environment.
  public static var root: String { root(environment: ProcessInfo.processInfo.environment) }

  /// The cache folder for `environment`: an empty `TESSERA_CACHE` counts as unset (taken as it
  /// is, it put the folders at the file system's root, where `scripts/fetch-model.sh` never
  /// places the model).
  public static func root(environment: [String: String]) -> String {
    if let folder = environment["TESSERA_CACHE"], !folder.isEmpty { return folder }
    return NSHomeDirectory() + "/.cache/tessera"
  }
}

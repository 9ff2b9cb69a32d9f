import Foundation
import TesseraRuntime

/// Where `scripts/fetch-model.sh` puts models: `${TESSERA_CACHE:-~/.cache/tessera}/models/`.
public enum ModelCache {
  /// The default model's file name: SmolLM2-135M-Instruct quantized to Q4_1.
  public static let defaultModelName = "SmolLM2-135M-Instruct.Q4_1.gguf"

  /// The models folder in ``CacheFolder/root``.
  public static var directory: String { CacheFolder.root + "/models" }

  /// The path of the default model (which may not exist yet).
  public static var defaultModelPath: String { directory + "/" + defaultModelName }

  /// The default model's path when the file is there.
  public static var defaultModelIfPresent: String? {
    FileManager.default.fileExists(atPath: defaultModelPath) ? defaultModelPath : nil
  }
}

import Foundation
import Tessera

/// Prefill and decode speed of a GGUF model on each usable device, with llama.cpp's
/// `llama-bench` on the same file in the same run when it is installed.
enum LLMBenchmark {
  static func run(modelPath: String?, deviceNames: [String]?, prefill: Int, decode: Int) throws {
    guard let path = modelPath ?? ModelCache.defaultModelIfPresent else {
      fail("no model at \(ModelCache.defaultModelPath); run 'make model' or pass --model GGUF")
    }
    let model = try LlamaModel(path: path)
    let registry = DeviceRegistry.standard()
    let devices: [any Device]
    if let deviceNames {
      devices = try deviceNames.map { try registry.device(named: $0) }
    } else {
      let selection = ModelDevices.all(in: registry, for: model)
      devices = selection.devices
      for note in selection.notes { print("note: " + note) }
    }
    print("\(path): prefill \(prefill) tokens, decode \(decode) tokens (greedy), one run each")
    let peer = LlamaBench.measure(modelPath: path, prefill: prefill, decode: decode)
    if let peer {
      print(
        String(
          format: "peer llama-bench (%@, 1 thread): pp%d %.1f tok/s, tg%d %.1f tok/s", peer.binary, prefill,
          peer.prefill, decode, peer.decode))
    } else {
      print(
        "peer absent: llama-bench not found (set LLAMA_BENCH, or build it with the peers script 01_build_llamacpp_cpu.sh in shared/peers); no ratios"
      )
    }
    print("DEVICE       PREFILL TOK/S   DECODE TOK/S   RATIO PP   RATIO TG   PEAK RSS")
    var random = SeededRandom(seed: 7)
    let prompt = (0..<prefill).map { _ in Int.random(in: 0..<model.config.vocabularySize, using: &random) }
    for device in devices {
      let session = try LlamaSession(model: model, device: device, context: prefill + decode)
      try session.prepareDecode()
      var generator = Generator(session: session)
      generator.stopTokens = []
      let result = try generator.generate(prompt: prompt, maxTokens: decode + 1)
      let ratios =
        peer.map {
          String(
            format: "%8.4f×  %8.4f×", result.prefillTokensPerSecond / $0.prefill,
            result.decodeTokensPerSecond / $0.decode)
        } ?? "       -          -"
      print(
        device.info.name.padding(toLength: 12, withPad: " ", startingAt: 0)
          + String(format: " %14.2f %14.3f   ", result.prefillTokensPerSecond, result.decodeTokensPerSecond) + ratios
          + "   " + ParityReport.memory(PeakMemory.residentBytes()))
    }
  }
}

/// llama.cpp's `llama-bench`, found through `LLAMA_BENCH`, `PATH`, or where the peers scripts
/// build it (`/tmp/build-cpu/bin`).
enum LlamaBench {
  static func measure(modelPath: String, prefill: Int, decode: Int) -> (
    binary: String, prefill: Double, decode: Double
  )? {
    let environment = ProcessInfo.processInfo.environment
    let candidates =
      [environment["LLAMA_BENCH"], "/tmp/build-cpu/bin/llama-bench"].compactMap { $0 }
      + (environment["PATH"] ?? "").split(separator: ":").map { "\($0)/llama-bench" }
    guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return nil }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = [
      "-m", modelPath, "-t", "1", "-p", String(prefill), "-n", String(decode), "-r", "1", "-o", "json",
    ]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0,
      let runs = try? JSONSerialization.jsonObject(with: data) as? [[String: Any]]
    else { return nil }
    func speed(_ key: String) -> Double? {
      runs.first { ($0[key] as? Int ?? 0) > 0 }?["avg_ts"] as? Double
    }
    guard let pp = speed("n_prompt"), let tg = speed("n_gen") else { return nil }
    return (binary, pp, tg)
  }
}

import Foundation
import Tessera

/// Prefill and decode speed of a GGUF model on each usable device, with llama.cpp's
/// `llama-bench` on the same file in the same run when it is installed.
enum LLMBenchmark {
  /// Measures every device, and the `cpu` device (in both precision modes: f32 activations, and
  /// the opt-in int8 activations that llama.cpp's CPU path uses) and llama-bench at each of
  /// `threads`, `rounds` times over; with several rounds, each row's ratios to the peer of its
  /// own round are summarised at the end (a shared machine moves single runs by tens of percent).
  static func run(
    modelPath: String?, deviceNames: [String]?, prefill: Int, decode: Int, threads: [Int], rounds: Int = 1
  ) throws {
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
    print(
      "\(path): prefill \(prefill) tokens, decode \(decode) tokens (greedy): one timed prefill after a warm-up prefill; then, as llama-bench's tg test does, \(decode) timed decode steps from a one-token prompt, after the first (llama-bench also warms up; the warm-up compiles, and on cpu repacks the q4 weights into tiles)"
    )
    // The runs, made once so that every round reuses each device's prepared weights.
    var runs: [Run] = []
    for device in devices {
      switch device.info.kind {
      case .vulkan: runs.append(Run(label: device.info.name, device: device, peer: .vulkan))
      case .cpu:
        for count in threads {
          let pool = CPUThreadPool(threads: count)
          let f32 = CPUDevice(library: StandardKernelLibrary(), pool: pool)
          let int8 = CPUDevice(library: StandardKernelLibrary(), pool: pool, quantizedPrecision: .int8Activations)
          runs.append(Run(label: "cpu \(count)T", device: f32, peer: .cpu(threads: count)))
          runs.append(Run(label: "cpu \(count)T int8", device: int8, peer: .cpu(threads: count)))
        }
      default: runs.append(Run(label: device.info.name, device: device, peer: .none))
      }
    }
    var ratios: [String: [(prefill: Double, decode: Double)]] = [:]
    for round in 1...rounds {
      if rounds > 1 { print("\nround \(round) of \(rounds)") }
      let measured = try measureRound(
        runs, model: model, path: path, prefill: prefill, decode: decode, threads: threads)
      for (label, ratio) in measured { ratios[label, default: []].append(ratio) }
    }
    if rounds > 1 {
      printSummary(runs.map(\.label).filter { ratios[$0] != nil }.map { ($0, ratios[$0]!) })
    }
    print("process peak RSS (every device above, one process): " + ParityReport.memory(PeakMemory.residentBytes()))
  }

  /// One row of the table: a device, and the peer its ratios are to.
  private struct Run {
    let label: String
    let device: any Device
    let peer: PeerKind
  }

  /// What a row is compared with.
  private enum PeerKind {
    /// llama-bench on the CPU with this many threads.
    case cpu(threads: Int)
    /// llama.cpp's Vulkan llama-bench on the same device.
    case vulkan
    /// Nothing.
    case none
  }

  /// One round: llama-bench at each thread count, then every run, printed; returns each run's
  /// ratios to its peer of this round (runs without a peer are left out).
  private static func measureRound(
    _ runs: [Run], model: LlamaModel, path: String, prefill: Int, decode: Int, threads: [Int]
  ) throws -> [(String, (prefill: Double, decode: Double))] {
    let peers = threads.map { LlamaBench.measure(modelPath: path, prefill: prefill, decode: decode, threads: $0) }
    for (count, peer) in zip(threads, peers) {
      guard let peer else { continue }
      print(
        String(
          format: "peer llama-bench (%@, %d thread%@): pp%d %.1f tok/s, tg%d %.1f tok/s", peer.binary, count,
          count == 1 ? "" : "s", prefill, peer.prefill, decode, peer.decode))
    }
    if peers.allSatisfy({ $0 == nil }) {
      print(
        "peer absent: llama-bench not found (set LLAMA_BENCH, or build it with the peers script 01_build_llamacpp_cpu.sh in shared/peers); no ratios"
      )
    }
    print(
      "DEVICE         PREFILL TOK/S   DECODE TOK/S   RATIO PP   RATIO TG   MOVED PER DECODE STEP (IN/OUT)   ON DEVICE (WEIGHTS + KV CACHE + OTHER)"
    )
    var random = SeededRandom(seed: 7)
    let prompt = (0..<prefill).map { _ in Int.random(in: 0..<model.config.vocabularySize, using: &random) }
    var measured: [(String, (prefill: Double, decode: Double))] = []
    for run in runs {
      let peer: LlamaBench.Speed? =
        switch run.peer {
        case .cpu(let count): threads.firstIndex(of: count).flatMap { peers[$0] }
        case .vulkan: vulkanPeer(for: run.device.info, path, prefill, decode, threads.max() ?? 1)
        case .none: nil
        }
      // Prefill: the prompt, one token after it. Decode: from a one-token prompt, so the KV
      // cache grows from empty as in llama-bench's tg test; the first generated token comes from
      // that prompt and the first decode step is first use: decode + 2 tokens leave `decode`
      // steady-state steps.
      let session = try LlamaSession(model: model, device: run.device, context: prefill + decode + 2)
      var generator = Generator(session: session)
      generator.stopTokens = []
      let pp = try generator.generate(prompt: prompt, maxTokens: 1, warmup: true).timings.prefillTokensPerSecond ?? 0
      let result = try generator.generate(prompt: Array(prompt.prefix(1)), maxTokens: decode + 2, warmup: true)
      let tg = result.timings.decodeTokensPerSecond ?? 0
      if let peer { measured.append((run.label, (pp / peer.prefill, tg / peer.decode))) }
      let ratios =
        peer.map { String(format: "%8.4f×  %8.4f×", pp / $0.prefill, tg / $0.decode) } ?? "       -          -"
      let moved = try session.profileDecode(result.generatedTokens.last ?? 0, greedy: true).traffic
      let held = session.memory
      print(
        run.label.padding(toLength: 14, withPad: " ", startingAt: 0) + String(format: " %14.2f %14.3f   ", pp, tg)
          + ratios + "   "
          + "\(moved.toDevice) B / \(moved.toHost) B".padding(toLength: 33, withPad: " ", startingAt: 0)
          + "\(ByteCount(held.weights)) + \(ByteCount(held.cache)) + \(ByteCount(held.other))"
          + (held.weightsReadInPlace > 0 ? " (\(ByteCount(held.weightsReadInPlace)) of weights read in place)" : ""))
    }
    return measured
  }

  /// Each row's ratios over the rounds (in round order) and their medians.
  private static func printSummary(_ rows: [(label: String, ratios: [(prefill: Double, decode: Double)])]) {
    print("\nratios to the peer of the same round, in round order; median")
    print("DEVICE         PREFILL                                  DECODE")
    func column(_ values: [Double]) -> String {
      let sorted = values.sorted(), middle = sorted.count / 2
      let median = sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
      return values.map { String(format: "%.2f", $0) }.joined(separator: " ") + String(format: "; %.2f×", median)
    }
    for (label, ratios) in rows {
      print(
        label.padding(toLength: 14, withPad: " ", startingAt: 0) + " "
          + column(ratios.map(\.prefill)).padding(toLength: 40, withPad: " ", startingAt: 0) + " "
          + column(ratios.map(\.decode)))
    }
  }

  /// llama.cpp's Vulkan `llama-bench` on the same physical device as `device`, printed; `nil`
  /// (with the reason printed) when it is not built or cannot find the device.
  private static func vulkanPeer(for device: DeviceInfo, _ path: String, _ prefill: Int, _ decode: Int, _ threads: Int)
    -> LlamaBench.Speed?
  {
    guard
      let peer = LlamaBench.measure(
        modelPath: path, prefill: prefill, decode: decode, threads: threads,
        backend: .vulkan(deviceName: device.summary))
    else {
      print(
        "peer absent for \(device.name): llama.cpp's Vulkan llama-bench not found or did not run on '\(device.summary)' (set LLAMA_BENCH_VULKAN, or build it with the peers script 04_vulkan_lavapipe.sh in shared/peers)"
      )
      return nil
    }
    print(
      String(
        format: "peer llama-bench Vulkan (%@, %@, -ngl 99): pp%d %.1f tok/s, tg%d %.1f tok/s", peer.binary,
        device.name, prefill, peer.prefill, decode, peer.decode))
    return peer
  }
}

/// llama.cpp's `llama-bench`, found through `LLAMA_BENCH`, `PATH`, or where the peers scripts
/// build it (`/tmp/build-cpu/bin`); its Vulkan build through `LLAMA_BENCH_VULKAN` or
/// `/tmp/build-vk/bin`.
enum LlamaBench {
  /// One llama-bench measurement: the binary and its tok/s.
  typealias Speed = (binary: String, prefill: Double, decode: Double)

  /// Which llama.cpp build runs.
  enum Backend {
    /// The CPU build.
    case cpu
    /// The Vulkan build, every layer offloaded, on the physical device called `deviceName`.
    case vulkan(deviceName: String)
  }

  /// Runs llama-bench once at `threads` threads; nil when it is absent or fails.
  static func measure(modelPath: String, prefill: Int, decode: Int, threads: Int, backend: Backend = .cpu) -> Speed? {
    let environment = ProcessInfo.processInfo.environment
    let candidates: [String]
    var arguments = [
      "-m", modelPath, "-t", String(threads), "-p", String(prefill), "-n", String(decode), "-r", "1", "-o", "json",
    ]
    var deviceIndex: Int?
    switch backend {
    case .cpu:
      candidates =
        [environment["LLAMA_BENCH"], "/tmp/build-cpu/bin/llama-bench"].compactMap { $0 }
        + (environment["PATH"] ?? "").split(separator: ":").map { "\($0)/llama-bench" }
    case .vulkan:
      candidates = [environment["LLAMA_BENCH_VULKAN"], "/tmp/build-vk/bin/llama-bench"].compactMap { $0 }
      arguments += ["-ngl", "99"]
    }
    guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else { return nil }
    if case .vulkan(let deviceName) = backend {
      guard let index = vulkanIndex(of: deviceName, binary: binary) else { return nil }
      deviceIndex = index
    }
    guard let output = run(binary, arguments, visibleVulkanDevice: deviceIndex),
      let runs = try? JSONSerialization.jsonObject(with: output) as? [[String: Any]]
    else { return nil }
    func speed(_ key: String) -> Double? {
      runs.first { ($0[key] as? Int ?? 0) > 0 }?["avg_ts"] as? Double
    }
    guard let pp = speed("n_prompt"), let tg = speed("n_gen") else { return nil }
    return (binary, pp, tg)
  }

  /// The Vulkan loader's index of the physical device called `deviceName`, as
  /// `GGML_VK_VISIBLE_DEVICES` takes it: ggml lists a CPU implementation such as lavapipe only
  /// when it is named there, so each index is tried alone with `--list-devices`.
  private static func vulkanIndex(of deviceName: String, binary: String) -> Int? {
    for index in 0..<16 {
      guard let listing = run(binary, ["--list-devices"], visibleVulkanDevice: index, withStandardError: true)
      else { return nil }
      let text = String(decoding: listing, as: UTF8.self)
      guard text.contains("Vulkan0") else { return nil }
      if text.contains(deviceName) { return index }
    }
    return nil
  }

  /// Standard output (and standard error, when asked) of `binary` run to completion, with
  /// `GGML_VK_VISIBLE_DEVICES` set when given; nil when it cannot start or fails.
  private static func run(
    _ binary: String, _ arguments: [String], visibleVulkanDevice: Int?, withStandardError: Bool = false
  ) -> Data? {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: binary)
    process.arguments = arguments
    if let visibleVulkanDevice {
      var environment = ProcessInfo.processInfo.environment
      environment["GGML_VK_VISIBLE_DEVICES"] = String(visibleVulkanDevice)
      process.environment = environment
    }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = withStandardError ? pipe : FileHandle.nullDevice
    guard (try? process.run()) != nil else { return nil }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return process.terminationStatus == 0 ? data : nil
  }
}

/// Launch shapes measured and chosen on one device (`tessera tune`), in place of the defaults a
/// target derives from its limits. An empty tuning means every default.
public struct KernelTuning: Hashable, Sendable, Codable {
  /// The shape of the kernel that multiplies by quantized weights in place
  /// (``TargetCapabilities/matmulsReadQuantizedWeights``); `nil`: the default shape.
  public var quantizedMatmul: QuantizedMatmulTuning?
  /// The tiling of the staged matmul that large f32 products take
  /// (``TargetCapabilities/stagedMatmul``); `nil`: the default tiling.
  public var stagedMatmul: MatmulTiling?

  /// A tuning with the given shapes.
  public init(quantizedMatmul: QuantizedMatmulTuning? = nil, stagedMatmul: MatmulTiling? = nil) {
    self.quantizedMatmul = quantizedMatmul
    self.stagedMatmul = stagedMatmul
  }
}

/// A workgroup shape of the quantized matmul kernel: `lanes` work-items split K for each of
/// `rows` outputs, and sum their partial sums with subgroup operations or a shared-memory tree.
public struct QuantizedMatmulTuning: Hashable, Sendable, Codable, CustomStringConvertible {
  /// Work-items splitting K for one output (a power of two).
  public var lanes: Int
  /// Outputs per workgroup.
  public var rows: Int
  /// Whether the lanes sum with subgroup operations (`lanes` is then the target's subgroup size).
  public var subgroupSums: Bool

  /// A shape.
  public init(lanes: Int, rows: Int, subgroupSums: Bool) {
    self.lanes = lanes
    self.rows = rows
    self.subgroupSums = subgroupSums
  }

  /// `8 lanes x 16 rows, subgroup sums`.
  public var description: String {
    "\(lanes) lane\(lanes == 1 ? "" : "s") x \(rows) row\(rows == 1 ? "" : "s"), "
      + (subgroupSums ? "subgroup sums" : lanes == 1 ? "no reduction" : "shared-memory tree")
  }

  /// What makes this shape unusable on a target whose subgroups have `subgroupSize` work-items
  /// (`nil`: none usable) and whose workgroups hold at most `maxWorkgroupSize`; `nil` when it is
  /// usable.
  public func problem(subgroupSize: Int?, maxWorkgroupSize: Int) -> String? {
    if lanes < 1 || lanes > 256 || lanes & (lanes - 1) != 0 { return "lanes \(lanes) is not a power of two up to 256" }
    if rows < 1 || rows > 256 { return "rows \(rows) is not between 1 and 256" }
    if lanes * rows > maxWorkgroupSize {
      return "\(lanes * rows) work-items is more than the device's workgroup limit \(maxWorkgroupSize)"
    }
    if subgroupSums && subgroupSize != lanes {
      return "subgroup sums need lanes equal to the subgroup size ("
        + (subgroupSize.map { "\($0)" } ?? "the device has none") + ")"
    }
    return nil
  }

  /// One work-item per output, 32 outputs per workgroup: the untuned shape where the target
  /// ``TargetCapabilities/streamsQuantizedRows``. On PoCL (Zen 1, 2 cores) a 576×576 q4_1 matvec
  /// took 0.08–0.16 ms against 0.54 ms with 32 lanes × 4 outputs (docs/gpu-quantized-matmul.md).
  public static let streamed = QuantizedMatmulTuning(lanes: 1, rows: 32, subgroupSums: false)

  /// The shape `target` uses untuned: ``streamed`` where it streams rows, else
  /// ``QuantizedMatmulShape/init(subgroupSize:)``'s.
  public static func untuned(for target: TargetCapabilities) -> QuantizedMatmulTuning {
    if target.streamsQuantizedRows { return streamed }
    let shape = QuantizedMatmulShape(subgroupSize: target.subgroupSize)
    return QuantizedMatmulTuning(lanes: shape.lanes, rows: shape.rows, subgroupSums: shape.subgroupSums)
  }

  /// The shapes `tessera tune` measures: one subgroup per output with 1 to 32 outputs where the
  /// target has subgroups, shared-memory trees of 8 to 64 lanes, and one work-item per output
  /// (no reduction); every one usable within `maxWorkgroupSize`.
  public static func candidates(subgroupSize: Int?, maxWorkgroupSize: Int) -> [QuantizedMatmulTuning] {
    var shapes: [QuantizedMatmulTuning] = []
    if let subgroupSize {
      shapes += [1, 2, 4, 8, 16, 32].map { QuantizedMatmulTuning(lanes: subgroupSize, rows: $0, subgroupSums: true) }
    }
    for lanes in [8, 16, 32, 64] {
      shapes += [1, 2, 4, 8].map { QuantizedMatmulTuning(lanes: lanes, rows: $0, subgroupSums: false) }
    }
    shapes += [16, 32, 64, 128].map { QuantizedMatmulTuning(lanes: 1, rows: $0, subgroupSums: false) }
    return shapes.filter { shape in
      shape.lanes * shape.rows >= 8
        && shape.problem(subgroupSize: subgroupSize, maxWorkgroupSize: maxWorkgroupSize) == nil
    }
  }
}

extension QuantizedMatmulShape {
  /// `target`'s shape: the workgroup shape its tuning chose, else its untuned one
  /// (``QuantizedMatmulTuning/untuned(for:)``); one lane per output streams 16-element chunks.
  init(target: TargetCapabilities) {
    self.init(subgroupSize: target.subgroupSize)
    let chosen = target.tuning.quantizedMatmul ?? .untuned(for: target)
    lanes = chosen.lanes
    rows = chosen.rows
    subgroupSums = chosen.subgroupSums
    if lanes == 1 {
      chunk = Self.streamedChunk
      interleavedRows = target.interleavedWeightRows ?? 1
    }
    // A CPU driver that runs a workgroup as loops over its work-items splits them at every
    // barrier: SmolLM2's prefill on PoCL went from 160-330 to 14-39 tok/s tiled (AMD EPYC Zen 5).
    tiled = !target.streamsQuantizedRows
  }
}

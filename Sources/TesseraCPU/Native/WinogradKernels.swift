extension WinogradConvolution {
  /// The 16 transformed kernel matrices of every group, `U[group][ξ]` of `O/g × C/g`, packed as
  /// the SGEMM microkernel's A: micro-panels of ``rows`` output channels, each holding for every
  /// input channel `rows` consecutive floats (zero past the group's last output channel), so
  /// ``WinogradTileChunk`` hands them to the microkernel where they lie. For constant weights
  /// kept between runs (``ConstantCache``). `@unchecked Sendable`: written once before the
  /// threads read it.
  final class TransformedKernels: @unchecked Sendable {
    private let storage: UnsafeMutablePointer<Float>
    let outputs: Int, channels: Int, groups: Int
    /// Output channels per micro-panel: the microkernel's rows.
    let rows: Int
    /// Micro-panels per group and `ξ`.
    let panels: Int

    /// Transforms the OIHW 3×3 `weights` (threads take output channels) into panels of `rows`
    /// output channels.
    init(weights: UnsafePointer<Float>, outputs: Int, channels: Int, groups: Int, rows: Int, pool: CPUThreadPool) {
      (self.outputs, self.channels, self.groups, self.rows) = (outputs, channels, groups, rows)
      let groupOutputs = outputs / groups
      panels = (groupOutputs + rows - 1) / rows
      let matrix = panels * rows * channels
      let storage = UnsafeMutablePointer<Float>.allocate(capacity: 16 * groups * matrix)
      storage.initialize(repeating: 0, count: 16 * groups * matrix)
      self.storage = storage
      let (source, target) = (SendablePointer(weights), SendablePointer(UnsafePointer(storage)))
      pool.forEachChunk(of: outputs) { range in
        for o in range {
          let (group, row) = o.quotientAndRemainder(dividingBy: groupOutputs)
          let u =
            UnsafeMutablePointer(mutating: target.pointer) + group * 16 * matrix + row / rows * rows * channels + row
            % rows
          for c in 0..<channels {
            WinogradTransforms.kernel(source.pointer + (o * channels + c) * 9, into: u + c * rows, stride: matrix)
          }
        }
      }
    }

    /// The micro-panel of output channels `panel · rows ..< + rows` of group `group`'s `U[ξ]`:
    /// ``channels`` steps of ``rows`` floats.
    func panel(group: Int, xi: Int, panel: Int) -> UnsafePointer<Float> {
      UnsafePointer(storage + ((group * 16 + xi) * panels + panel) * rows * channels)
    }

    deinit { storage.deallocate() }
  }
}

/// A pointer handed to worker threads that only read through it.
private struct SendablePointer: @unchecked Sendable {
  let pointer: UnsafePointer<Float>
  init(_ pointer: UnsafePointer<Float>) { self.pointer = pointer }
}

import TesseraIR

/// A copy of a block-quantized `n × k` weight (GGUF rows, blocks along `k`) whose rows are
/// interleaved in groups of ``rows`` block by block: group `g` holds block 0 of rows
/// `g·rows … g·rows + rows − 1`, then block 1 of each, and so on (rows past `n` repeat row
/// `n − 1`). Every block is GGUF's, unchanged, so the copy is itself a valid quantized tensor of
/// `⌈n / rows⌉ × rows·k` elements and `load_dequant` reads it as any other; a kernel that computes
/// `rows` outputs at once then reads one sequential stream instead of `rows`.
///
/// A kernel buffer with an interleave (``KBuffer/interleave``) is bound by the device to such a
/// copy of its value, made from the value's bytes (``interleaved(_:dtype:)``) and made again
/// after they are written; the value itself keeps GGUF's order for every other kernel.
public struct KRowInterleave: Hashable, Sendable, CustomStringConvertible {
  /// Rows whose blocks alternate.
  public var rows: Int
  /// Rows of the weight (`n`).
  public var rowCount: Int
  /// Elements of each row (`k`, whole blocks).
  public var rowElements: Int

  /// Interleaves `rowCount` rows of `rowElements` in groups of `rows`.
  public init(rows: Int, rowCount: Int, rowElements: Int) {
    self.rows = rows
    self.rowCount = rowCount
    self.rowElements = rowElements
  }

  /// `rows 4 of 576x576`, as printed in KIR.
  public var description: String { "rows \(rows) of \(rowCount)x\(rowElements)" }

  /// Groups of rows: `⌈n / rows⌉`.
  public var groups: Int { (rowCount + rows - 1) / rows }

  /// The element index in the copy of the weight's element (`row`, `column`), with blocks of
  /// `blockElements`.
  public func index(row: Int, column: Int, blockElements: Int) -> Int {
    (row / rows) * rows * rowElements + (column / blockElements) * rows * blockElements + (row % rows) * blockElements
      + column % blockElements
  }

  /// The copy's type for a weight of `dtype`: `⌈n / rows⌉ × rows·k` elements.
  public func copyType(dtype: DType) -> TensorType { TensorType(dtype, [groups, rows * rowElements]) }

  /// Bytes of the copy of a weight of `dtype`.
  public func byteCount(dtype: DType) -> Int { copyType(dtype: dtype).storageBytes! }

  /// The copy of `weight`, `rowCount × rowElements` elements of the block-quantized `dtype` in
  /// GGUF's order.
  public func interleaved(_ weight: UnsafeRawBufferPointer, dtype: DType) -> Tensor {
    let block = dtype.quantBlock!
    let blocks = rowElements / block.elements, rowBytes = blocks * block.bytes
    precondition(weight.count >= rowCount * rowBytes, "KRowInterleave: \(weight.count) bytes for \(self) \(dtype)")
    var copy = [UInt8](repeating: 0, count: byteCount(dtype: dtype))
    copy.withUnsafeMutableBytes { target in
      var destination = 0
      for group in 0..<groups {
        for b in 0..<blocks {
          for lane in 0..<rows {
            let row = Swift.min(group * rows + lane, rowCount - 1)
            let source = row * rowBytes + b * block.bytes
            target.baseAddress!.advanced(by: destination).copyMemory(
              from: weight.baseAddress!.advanced(by: source), byteCount: block.bytes)
            destination += block.bytes
          }
        }
      }
    }
    return Tensor(type: copyType(dtype: dtype), bytes: copy)!
  }
}

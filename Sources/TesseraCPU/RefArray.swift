import TesseraIR

/// The reference evaluator's working form of a tensor: floating-point dtypes as `Float` values
/// (already rounded to f16/bf16 where the dtype says so), integers and bool as `Int64`, and
/// quantized tensors as their raw blocks.
struct RefArray {
  enum Storage {
    case float([Float])
    case int([Int64])
    case blocks([UInt8])
  }

  var type: TensorType
  var storage: Storage

  var shape: Shape { type.shape }

  /// Bytes of host memory the values take.
  var byteCount: Int {
    switch storage {
    case .float(let values): values.count * MemoryLayout<Float>.stride
    case .int(let values): values.count * MemoryLayout<Int64>.stride
    case .blocks(let bytes): bytes.count
    }
  }
  var dtype: DType { type.dtype }

  init(type: TensorType, storage: Storage) {
    self.type = type
    self.storage = storage
  }

  init(_ tensor: Tensor) {
    type = tensor.type
    if tensor.dtype.isQuantized {
      storage = .blocks(tensor.bytes)
    } else if tensor.dtype.isFloatingPoint {
      storage = .float(tensor.floats)
    } else {
      storage = .int(tensor.int64s)
    }
  }

  /// Floats rounded to `dtype` (f32, f16 or bf16).
  init(floats: [Float], dtype: DType, shape: Shape) {
    type = TensorType(dtype, shape)
    storage = .float(dtype == .f32 ? floats : floats.map { RefArray.round($0, to: dtype) })
  }

  /// Integers wrapped to `dtype`'s width (bool becomes 0 or 1).
  init(ints: [Int64], dtype: DType, shape: Shape) {
    type = TensorType(dtype, shape)
    storage = .int(dtype == .i64 ? ints : ints.map { RefArray.wrap($0, to: dtype) })
  }

  var floats: [Float] {
    switch storage {
    case .float(let values): values
    case .int(let values): values.map(Float.init)
    case .blocks(let bytes): Quantization.dequantize(bytes, dtype: dtype, count: shape.count)
    }
  }

  var ints: [Int64] {
    switch storage {
    case .int(let values): values
    case .float(let values): values.map { Int64(exactly: $0.rounded(.towardZero)) ?? 0 }
    case .blocks: preconditionFailure("quantized tensors have no integer view")
    }
  }

  /// Element `index` widened to Double, whatever the storage.
  func double(at index: Int) -> Double {
    switch storage {
    case .float(let values): Double(values[index])
    case .int(let values): Double(values[index])
    case .blocks: preconditionFailure("quantized tensors are read through dequantize")
    }
  }

  var tensor: Tensor {
    switch storage {
    case .float(let values): Tensor(values.map(Double.init), shape: shape, dtype: dtype)
    case .int(let values) where dtype == .i64:
      Tensor(
        type: type, bytes: values.flatMap { value in (0..<8).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) } })!
    case .int(let values): Tensor(values.map(Double.init), shape: shape, dtype: dtype)
    case .blocks(let bytes): Tensor(type: type, bytes: bytes)!
    }
  }

  /// Same elements, another shape or dtype label (reshape, bitwise-identical moves).
  func relabeled(_ shape: Shape) -> RefArray { RefArray(type: TensorType(dtype, shape), storage: storage) }

  /// Elements picked by flat index (movement ops): `result[i] = self[indices[i]]`.
  func gathered(_ indices: some Sequence<Int>, shape: Shape) -> RefArray {
    func pick<Element>(_ values: [Element]) -> [Element] {
      (indices as? Indexing.StridedIndices)?.gather(values) ?? indices.map { values[$0] }
    }
    switch storage {
    case .float(let values): return RefArray(type: TensorType(dtype, shape), storage: .float(pick(values)))
    case .int(let values): return RefArray(type: TensorType(dtype, shape), storage: .int(pick(values)))
    case .blocks: preconditionFailure("quantized tensors cannot be moved element-wise")
    }
  }

  static func round(_ value: Float, to dtype: DType) -> Float {
    switch dtype {
    case .f16: Float(Float16(value))
    case .bf16: Float(DType.bf16.rounded(Double(value)))
    default: value
    }
  }

  static func wrap(_ value: Int64, to dtype: DType) -> Int64 { dtype.wrapping(value) }
}

/// Index arithmetic shared by the reference kernels.
enum Indexing {
  /// For each element of `output` (C order), the flat index of the element of an operand of
  /// `input` shape that numpy broadcasting reads.
  static func broadcastMap(from input: Shape, to output: Shape) -> [Int] {
    let offset = output.rank - input.rank
    let inputStrides = input.strides
    var strides = [Int](repeating: 0, count: output.rank)
    for axis in 0..<input.rank where input.dims[axis] != 1 {
      strides[axis + offset] = inputStrides[axis]
    }
    return stridedMap(shape: output, strides: strides, base: 0)
  }

  /// Flat indices `base + Σ coord[a] * strides[a]` for every coordinate of `shape` in C order.
  static func stridedMap(shape: Shape, strides: [Int], base: Int) -> [Int] {
    Array(StridedIndices(shape: shape, strides: strides, base: base))
  }

  /// The indices of ``stridedMap(shape:strides:base:)`` one at a time, for maps too large to hold
  /// (a transposed weight's map would take 8 bytes per element, twice the weight's f32 values).
  struct StridedIndices: Sequence, IteratorProtocol {
    private let shape: Shape
    private let strides: [Int]
    private var coordinate: [Int]
    private var flat: Int
    private var remaining: Int

    /// The indices `base + Σ coord[a] * strides[a]` for every coordinate of `shape`, in C order.
    init(shape: Shape, strides: [Int], base: Int) {
      self.shape = shape
      self.strides = strides
      coordinate = [Int](repeating: 0, count: shape.rank)
      flat = base
      remaining = shape.count
    }

    /// Indices still to come.
    var underestimatedCount: Int { remaining }

    /// `values` at every index, in order: the same elements as mapping the sequence, walked in
    /// 32x32 tiles of the last two axes so that a transposing gather (every weight of a Llama
    /// graph) reads and writes whole cache lines.
    func gather<Element>(_ values: [Element]) -> [Element] {
      let rank = shape.rank
      guard remaining > 0, rank >= 2 else { return map { values[$0] } }
      let (rows, columns) = (shape.dims[rank - 2], shape.dims[rank - 1])
      let (rowStride, columnStride) = (strides[rank - 2], strides[rank - 1])
      let starts = StridedIndices(
        shape: Shape(Array(shape.dims.dropLast(2))), strides: Array(strides.dropLast(2)), base: flat)
      let tile = 32
      return [Element](unsafeUninitializedCapacity: remaining) { output, count in
        values.withUnsafeBufferPointer { input in
          var matrix = 0
          for start in starts {
            for row0 in stride(from: 0, to: rows, by: tile) {
              for column0 in stride(from: 0, to: columns, by: tile) {
                for row in row0..<Swift.min(row0 + tile, rows) {
                  let from = start + row * rowStride, to = matrix + row * columns
                  for column in column0..<Swift.min(column0 + tile, columns) {
                    output.initializeElement(at: to + column, to: input[from + column * columnStride])
                  }
                }
              }
            }
            matrix += rows * columns
          }
          count = matrix
        }
      }
    }

    /// The next index, moving the coordinate on by one in C order.
    mutating func next() -> Int? {
      guard remaining > 0 else { return nil }
      let index = flat
      remaining -= 1
      var axis = shape.rank - 1
      while axis >= 0 {
        coordinate[axis] += 1
        flat += strides[axis]
        if coordinate[axis] < shape.dims[axis] { break }
        flat -= strides[axis] * shape.dims[axis]
        coordinate[axis] = 0
        axis -= 1
      }
      return index
    }
  }

  /// Splits `shape` around `axis` into (outer count, axis size, inner count).
  static func around(_ shape: Shape, axis: Int) -> (outer: Int, size: Int, inner: Int) {
    let outer = shape.dims[..<axis].reduce(1, *)
    let inner = shape.dims[(axis + 1)...].reduce(1, *)
    return (outer, shape.dims[axis], inner)
  }
}

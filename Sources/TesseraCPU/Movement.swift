import TesseraIR

/// Reference movement ops: each computes, for every output element, which input element it is.
enum Movement {
  static func apply(_ kind: OpKind, _ operands: [RefArray], _ attributes: Attributes, _ type: TensorType)
    throws(EvaluationFailure) -> RefArray
  {
    let a = operands[0]
    switch kind {
    case .reshape:
      return a.relabeled(type.shape)
    case .broadcast:
      return a.gathered(Indexing.broadcastMap(from: a.shape, to: type.shape), shape: type.shape)
    case .transpose:
      let perm = attributes.ints("perm") ?? Array((0..<a.shape.rank).reversed())
      let strides = a.shape.strides
      return a.gathered(
        Indexing.StridedIndices(shape: type.shape, strides: perm.map { strides[$0] }, base: 0), shape: type.shape)
    case .slice:
      let start = attributes.ints("start")!
      let step = attributes.ints("step") ?? [Int](repeating: 1, count: a.shape.rank)
      let strides = a.shape.strides
      let base = zip(start, strides).map(*).reduce(0, +)
      let map = Indexing.StridedIndices(shape: type.shape, strides: zip(strides, step).map(*), base: base)
      return a.gathered(map, shape: type.shape)
    case .concat:
      return concat(operands, axis: a.shape.normalizedAxis(attributes.int("axis")!)!, type)
    case .updateSlice:
      return try updateSlice(a, operands[1], start: operands[2].ints[0], attributes, type)
    default:
      return try gather(a, operands[1], axis: a.shape.normalizedAxis(attributes.int("axis") ?? 0)!, type)
    }
  }

  private static func concat(_ operands: [RefArray], axis: Int, _ type: TensorType) -> RefArray {
    let (outer, _, inner) = Indexing.around(type.shape, axis: axis)
    var floats: [Float] = [], ints: [Int64] = []
    for block in 0..<outer {
      for operand in operands {
        let chunk = operand.shape.dims[axis] * inner
        let range = (block * chunk)..<((block + 1) * chunk)
        switch operand.storage {
        case .float(let values): floats += values[range]
        case .int(let values): ints += values[range]
        case .blocks: preconditionFailure("concat of quantized tensors is rejected by the verifier")
        }
      }
    }
    return RefArray(type: type, storage: type.dtype.isFloatingPoint ? .float(floats) : .int(ints))
  }

  /// `base` with the slab at `start` along the axis replaced by `update`; a start that puts the
  /// slab outside `base` fails.
  private static func updateSlice(
    _ base: RefArray, _ update: RefArray, start: Int64, _ attributes: Attributes, _ type: TensorType
  ) throws(EvaluationFailure) -> RefArray {
    let axis = base.shape.normalizedAxis(attributes.int("axis") ?? 0)!
    let (size, length) = (base.shape.dims[axis], update.shape.dims[axis])
    guard start >= 0, start + Int64(length) <= Int64(size) else {
      throw EvaluationFailure(
        message: "start \(start) puts \(length) rows outside 0..<\(size) along axis \(axis)")
    }
    let (outer, _, inner) = Indexing.around(base.shape, axis: axis)
    // Element i of the result comes from the base (i) or the update (count + j): one gather map.
    var map = Array(0..<base.shape.count)
    for block in 0..<outer {
      for row in 0..<length {
        let target = (block * size + Int(start) + row) * inner
        let source = base.shape.count + (block * length + row) * inner
        for offset in 0..<inner { map[target + offset] = source + offset }
      }
    }
    let joined: RefArray.Storage =
      switch (base.storage, update.storage) {
      case (.float(let a), .float(let b)): .float(a + b)
      case (.int(let a), .int(let b)): .int(a + b)
      default: preconditionFailure("update_slice of quantized tensors is rejected by the verifier")
      }
    let combined = RefArray(type: TensorType(type.dtype, [base.shape.count + update.shape.count]), storage: joined)
    return combined.gathered(map, shape: type.shape)
  }

  /// `np.take(a, indices, axis)`; negative indices count from the end, others out of range fail.
  private static func gather(_ a: RefArray, _ indices: RefArray, axis: Int, _ type: TensorType)
    throws(EvaluationFailure) -> RefArray
  {
    let (outer, size, inner) = Indexing.around(a.shape, axis: axis)
    var map: [Int] = []
    map.reserveCapacity(type.shape.count)
    let picks = indices.ints
    for block in 0..<outer {
      for index in picks {
        guard (-Int64(size))..<Int64(size) ~= index else {
          throw EvaluationFailure(message: "index \(index) is out of range for axis \(axis) of size \(size)")
        }
        let row = Int(index < 0 ? index + Int64(size) : index)
        let base = (block * size + row) * inner
        for offset in 0..<inner { map.append(base + offset) }
      }
    }
    return a.gathered(map, shape: type.shape)
  }
}

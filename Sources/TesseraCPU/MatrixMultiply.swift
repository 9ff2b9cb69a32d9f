import TesseraIR

/// Reference numpy `matmul`: batch dims broadcast, 1-D operands promoted and their axis dropped,
/// every dot product accumulated in Double (wrapping Int64 for integers). Floats are widened one
/// element at a time, not as whole Double copies of the operands (a transposed output head's
/// would be twice its f32 values).
enum MatrixMultiply {
  static func matmul(_ a: RefArray, _ b: RefArray, _ type: TensorType) -> RefArray {
    let layout = MatmulLayout(a.shape, b.shape)
    let (m, k, n) = (layout.m, layout.k, layout.n)
    let batch = Shape(
      Array(type.shape.dims.prefix(type.shape.rank - (layout.aIsVector ? 0 : 1) - (layout.bIsVector ? 0 : 1))))
    let batchA = Indexing.broadcastMap(from: layout.batchA, to: batch)
    let batchB = Indexing.broadcastMap(from: layout.batchB, to: batch)
    if a.dtype.isFloatingPoint {
      let x = a.floats, y = b.floats
      var out = [Float](repeating: 0, count: batch.count * m * n)
      var row = [Double](repeating: 0, count: n)
      x.withUnsafeBufferPointer { x in
        y.withUnsafeBufferPointer { y in
          for batchIndex in 0..<batch.count {
            let aBase = batchA[batchIndex] * m * k, bBase = batchB[batchIndex] * k * n
            for i in 0..<m {
              for j in 0..<n { row[j] = 0 }
              for p in 0..<k {
                let scale = Double(x[aBase + i * k + p])
                let bRow = bBase + p * n
                for j in 0..<n { row[j] += scale * Double(y[bRow + j]) }
              }
              let outBase = (batchIndex * m + i) * n
              for j in 0..<n { out[outBase + j] = Float(row[j]) }
            }
          }
        }
      }
      return RefArray(floats: out, dtype: type.dtype, shape: type.shape)
    }
    let x = a.ints, y = b.ints
    var out = [Int64](repeating: 0, count: batch.count * m * n)
    for batchIndex in 0..<batch.count {
      let aBase = batchA[batchIndex] * m * k, bBase = batchB[batchIndex] * k * n
      for i in 0..<m {
        for j in 0..<n {
          var sum: Int64 = 0
          for p in 0..<k { sum = sum &+ x[aBase + i * k + p] &* y[bBase + p * n + j] }
          out[(batchIndex * m + i) * n + j] = sum
        }
      }
    }
    return RefArray(ints: out, dtype: type.dtype, shape: type.shape)
  }
}

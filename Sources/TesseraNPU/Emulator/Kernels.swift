import Foundation
import TesseraIR

/// The data paths of the units on raw pointers whose ranges the caller has already checked.
enum Kernels {
  /// A 4-D strided copy between a strided and a contiguous region, converting element types.
  static func copy(
    strided: UnsafeMutableRawPointer, contiguous: UnsafeMutableRawPointer, stridedType: NPUElement,
    contiguousType: NPUElement, toContiguous: Bool, counts: [Int], strides: [Int]
  ) {
    let (from, to) = toContiguous ? (stridedType, contiguousType) : (contiguousType, stridedType)
    var linear = 0
    for i0 in 0..<counts[0] {
      for i1 in 0..<counts[1] {
        for i2 in 0..<counts[2] {
          let row = i0 * strides[0] + i1 * strides[1] + i2 * strides[2]
          if strides[3] == 1 {
            let far = strided + row * stridedType.bytes, near = contiguous + linear * contiguousType.bytes
            if toContiguous {
              convert(far, from, near, to, count: counts[3])
            } else {
              convert(near, from, far, to, count: counts[3])
            }
            linear += counts[3]
            continue
          }
          for i3 in 0..<counts[3] {
            let far = strided + (row + i3 * strides[3]) * stridedType.bytes
            let near = contiguous + linear * contiguousType.bytes
            if toContiguous { convert(far, from, near, to) } else { convert(near, from, far, to) }
            linear += 1
          }
        }
      }
    }
  }

  /// `count` consecutive elements from `source` to `destination`: one copy for equal types,
  /// else (f32 ↔ f16) one tight loop, which the compiler vectorises.
  private static func convert(
    _ source: UnsafeMutableRawPointer, _ from: NPUElement, _ destination: UnsafeMutableRawPointer, _ to: NPUElement,
    count: Int
  ) {
    if from == to {
      destination.copyMemory(from: source, byteCount: count * from.bytes)
      return
    }
    if from == .i8 || from == .i32 || to == .i8 || to == .i32 {
      for i in 0..<count { convert(source + i * from.bytes, from, destination + i * to.bytes, to) }
      return
    }
    if from == .f32 {
      for i in 0..<count {
        let value = Float16(source.loadUnaligned(fromByteOffset: 4 * i, as: Float.self))
        destination.storeBytes(of: value, toByteOffset: 2 * i, as: Float16.self)
      }
    } else {
      for i in 0..<count {
        let value = Float(source.loadUnaligned(fromByteOffset: 2 * i, as: Float16.self))
        destination.storeBytes(of: value, toByteOffset: 4 * i, as: Float.self)
      }
    }
  }

  /// One element from `source` of type `from` to `destination` of type `to` (equal, or both floats).
  private static func convert(
    _ source: UnsafeMutableRawPointer, _ from: NPUElement, _ destination: UnsafeMutableRawPointer, _ to: NPUElement
  ) {
    if from == to {
      // Loads and stores of the element's width: a `memmove` call per element would dominate
      // strided (transposing) DMAs.
      switch from.bytes {
      case 4: destination.storeBytes(of: source.loadUnaligned(as: UInt32.self), as: UInt32.self)
      case 2: destination.storeBytes(of: source.loadUnaligned(as: UInt16.self), as: UInt16.self)
      case 1: destination.storeBytes(of: source.load(as: UInt8.self), as: UInt8.self)
      default: destination.copyMemory(from: source, byteCount: from.bytes)
      }
    } else if from == .f32 && to == .f16 {
      destination.storeBytes(of: Float16(source.loadUnaligned(as: Float.self)), as: Float16.self)
    } else if from == .f16 && to == .f32 {
      destination.storeBytes(of: Float(source.loadUnaligned(as: Float16.self)), as: Float.self)
    } else {
      store(value(source, from), destination, to)
    }
  }

  /// The element at `source` as a Double (exact for every element type).
  private static func value(_ source: UnsafeMutableRawPointer, _ type: NPUElement) -> Double {
    switch type {
    case .f32: Double(source.loadUnaligned(as: Float.self))
    case .f16: Double(source.loadUnaligned(as: Float16.self))
    case .i8: Double(source.load(as: Int8.self))
    case .i32: Double(source.loadUnaligned(as: Int32.self))
    }
  }

  /// Stores `value` as `type`: floats round to nearest even; integers take the value rounded
  /// toward zero, saturated to the type's range, NaN as 0.
  private static func store(_ value: Double, _ destination: UnsafeMutableRawPointer, _ type: NPUElement) {
    let integer = value.isNaN ? 0 : value.rounded(.towardZero)
    switch type {
    case .f32: destination.storeBytes(of: Float(value), as: Float.self)
    case .f16: destination.storeBytes(of: Float16(value), as: Float16.self)
    case .i8: destination.storeBytes(of: Int8(Swift.min(Swift.max(integer, -128), 127)), as: Int8.self)
    case .i32:
      destination.storeBytes(
        of: Int32(Swift.min(Swift.max(integer, Double(Int32.min)), Double(Int32.max))), as: Int32.self)
    }
  }

  /// C[m,n] (+)= A[m,k] · B[k,n]: fp16 operands, products exact in fp32, fp32 accumulation.
  static func mmadHalf(
    _ c: UnsafeMutableRawPointer, _ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer, _ m: Int, _ k: Int,
    _ n: Int, _ accumulate: Bool
  ) {
    withUnsafeTemporaryAllocation(of: Float.self, capacity: k * n + n) { scratch in
      let bValues = scratch.baseAddress!, row = bValues + k * n
      convert(b, .f16, UnsafeMutableRawPointer(bValues), .f32, count: k * n)
      for i in 0..<m {
        let out = c + 4 * i * n
        if accumulate {
          UnsafeMutableRawPointer(row).copyMemory(from: out, byteCount: 4 * n)
        } else {
          row.update(repeating: 0, count: n)
        }
        for p in 0..<k {
          let x = Float(a.loadUnaligned(fromByteOffset: 2 * (i * k + p), as: Float16.self))
          let bRow = bValues + p * n
          for j in 0..<n { row[j] += x * bRow[j] }
        }
        out.copyMemory(from: row, byteCount: 4 * n)
      }
    }
  }

  /// C[m,n] (+)= A[m,k] · B[k,n]: int8 operands, wrapping int32 accumulation.
  static func mmadInt8(
    _ c: UnsafeMutableRawPointer, _ a: UnsafeMutableRawPointer, _ b: UnsafeMutableRawPointer, _ m: Int, _ k: Int,
    _ n: Int, _ accumulate: Bool
  ) {
    for i in 0..<m {
      for j in 0..<n {
        var sum = accumulate ? c.loadUnaligned(fromByteOffset: 4 * (i * n + j), as: Int32.self) : 0
        for p in 0..<k {
          let x = Int32(a.load(fromByteOffset: i * k + p, as: Int8.self))
          let y = Int32(b.load(fromByteOffset: p * n + j, as: Int8.self))
          sum &+= x &* y
        }
        c.storeBytes(of: sum, toByteOffset: 4 * (i * n + j), as: Int32.self)
      }
    }
  }

  private static func lanes(_ base: UnsafeMutableRawPointer, _ offset: Int64) -> UnsafeMutablePointer<Float> {
    (base + Int(offset)).assumingMemoryBound(to: Float.self)
  }

  /// d[i] = f(a[i], b[i]) for n f32 lanes; `values` are d, a, b, n.
  static func binary(_ function: VectorBinary, base: UnsafeMutableRawPointer, _ values: [Int64], _ n: Int) {
    let (d, a, b) = (lanes(base, values[0]), lanes(base, values[1]), lanes(base, values[2]))
    for i in 0..<n {
      let (x, y) = (a[i], b[i])
      d[i] =
        switch function {
        case .add: x + y
        case .sub: x - y
        case .mul: x * y
        case .div: x / y
        case .max: x.isNaN || y.isNaN ? .nan : Swift.max(x, y)
        case .min: x.isNaN || y.isNaN ? .nan : Swift.min(x, y)
        case .pow: Float(Foundation.pow(Double(x), Double(y)))
        }
    }
  }

  /// d[i] = f(a[i]) for n f32 lanes; `values` are d, a, n.
  static func unary(_ function: VectorUnary, base: UnsafeMutableRawPointer, _ values: [Int64], _ n: Int) {
    let (d, a) = (lanes(base, values[0]), lanes(base, values[1]))
    for i in 0..<n {
      let x = a[i]
      d[i] =
        switch function {
        case .neg: -x
        case .abs: Swift.abs(x)
        case .exp: Foundation.exp(x)
        case .ln: Foundation.log(x)
        case .sqrt: x.squareRoot()
        case .rsqrt: 1 / x.squareRoot()
        case .rec: 1 / x
        case .tanh: Foundation.tanh(x)
        case .sin: Foundation.sin(x)
        case .cos: Foundation.cos(x)
        case .erf: Foundation.erf(x)
        case .relu: x.isNaN ? x : Swift.max(x, 0)
        case .round16: Float(Float16(x))
        }
    }
  }

  /// d[i] = 1.0 where a[i] kind b[i] holds, else 0.0, for n f32 lanes; `values` are d, a, b, n.
  static func compare(_ kind: VectorComparison, base: UnsafeMutableRawPointer, _ values: [Int64], _ n: Int) {
    let (d, a, b) = (lanes(base, values[0]), lanes(base, values[1]), lanes(base, values[2]))
    let relation = kind.relation
    for i in 0..<n { d[i] = relation.holds(a[i], b[i]) ? 1 : 0 }
  }

  /// d[i] = m[i] != 0 ? a[i] : b[i] for n f32 lanes; `values` are d, m, a, b, n.
  static func select(base: UnsafeMutableRawPointer, _ values: [Int64], _ n: Int) {
    let (d, m, a, b) = (lanes(base, values[0]), lanes(base, values[1]), lanes(base, values[2]), lanes(base, values[3]))
    for i in 0..<n { d[i] = m[i] != 0 ? a[i] : b[i] }
  }

  /// d[r] = reduce(a[r, 0..<cols]) for each row; `values` are d, a, rows, cols.
  static func reduce(
    _ function: VectorReduction, base: UnsafeMutableRawPointer, _ values: [Int64], _ rows: Int, _ cols: Int
  ) {
    let (d, a) = (lanes(base, values[0]), lanes(base, values[1]))
    switch function {
    case .sum: fold(d, a, rows, cols) { $0 + $1 }
    case .max: fold(d, a, rows, cols) { $0.isNaN || $1.isNaN ? .nan : Swift.max($0, $1) }
    case .min: fold(d, a, rows, cols) { $0.isNaN || $1.isNaN ? .nan : Swift.min($0, $1) }
    case .argmax: for r in 0..<rows { d[r] = Float(firstMaximum(a + r * cols, cols)) }
    }
  }

  /// d[r] = the row's lanes combined left to right.
  @inline(__always)
  private static func fold(
    _ d: UnsafeMutablePointer<Float>, _ a: UnsafeMutablePointer<Float>, _ rows: Int, _ cols: Int,
    _ combine: (Float, Float) -> Float
  ) {
    for r in 0..<rows {
      var acc = a[r * cols]
      for c in 1..<Swift.max(cols, 1) { acc = combine(acc, a[r * cols + c]) }
      d[r] = acc
    }
  }

  /// The index of the first maximal of `count` lanes, or of the first NaN.
  private static func firstMaximum(_ row: UnsafeMutablePointer<Float>, _ count: Int) -> Int {
    var best = 0
    for c in 0..<count {
      if row[c].isNaN { return c }
      if row[c] > row[best] { best = c }
    }
    return best
  }

  /// GGUF blocks at a (bytes) to f32 lanes at d; `values` are d, a, blocks.
  static func dequantize(_ format: QuantFormat, base: UnsafeMutableRawPointer, _ values: [Int64], _ blocks: Int) {
    let d = lanes(base, values[0])
    let a = base + Int(values[1])
    guard [.q4_0, .q4_1, .q8_0].contains(format) else {
      // Every other format through its one description.
      var decoder = BlockDecoder(format.format)
      for block in 0..<blocks {
        decoder.decode(a + block * format.blockBytes, into: d + block * format.blockElements)
      }
      return
    }
    for block in 0..<blocks {
      let bytes = a + block * format.blockBytes
      let scale = Float(bytes.loadUnaligned(as: Float16.self))
      let out = d + block * 32
      switch format {
      case .q8_0:
        for j in 0..<32 { out[j] = Float(bytes.load(fromByteOffset: 2 + j, as: Int8.self)) * scale }
      default:
        let minimum = format == .q4_1 ? Float(bytes.loadUnaligned(fromByteOffset: 2, as: Float16.self)) : 0
        let offset: Float = format == .q4_1 ? 0 : -8
        let quants = format == .q4_1 ? 4 : 2
        for j in 0..<16 {
          let byte = bytes.load(fromByteOffset: quants + j, as: UInt8.self)
          out[j] = (Float(byte & 0x0F) + offset) * scale + minimum
          out[j + 16] = (Float(byte >> 4) + offset) * scale + minimum
        }
      }
    }
  }
}

import TesseraCompiler
import TesseraIR

/// Loads and stores between typed global buffers (or shared arrays) and the register files.
/// Only active lanes touch memory; every access is bounds-checked.
enum VectorMemory {
  /// Element `index` of a plain buffer, widened to Double.
  @inline(__always)
  static func read(_ binding: KernelBufferBinding, _ index: Int) -> Double {
    let p = binding.pointer
    switch binding.dtype {
    case .f32: return Double(p.load(fromByteOffset: index * 4, as: Float.self))
    case .f16: return Double(p.load(fromByteOffset: index * 2, as: Float16.self))
    case .bf16: return Double(Float(bitPattern: UInt32(p.load(fromByteOffset: index * 2, as: UInt16.self)) << 16))
    case .i32: return Double(p.load(fromByteOffset: index * 4, as: Int32.self))
    case .i64: return Double(p.load(fromByteOffset: index * 8, as: Int64.self))
    case .i8: return Double(p.load(fromByteOffset: index, as: Int8.self))
    case .u8: return Double(p.load(fromByteOffset: index, as: UInt8.self))
    case .bool: return p.load(fromByteOffset: index, as: UInt8.self) != 0 ? 1 : 0
    default: preconditionFailure("read: \(binding.dtype) is quantized")
    }
  }

  /// Writes `value` (already of the buffer's dtype) at element `index`.
  @inline(__always)
  static func write(_ binding: KernelBufferBinding, _ index: Int, _ value: Double) {
    let p = binding.pointer
    switch binding.dtype {
    case .f32: p.storeBytes(of: Float(value), toByteOffset: index * 4, as: Float.self)
    case .f16: p.storeBytes(of: Float16(Float(value)), toByteOffset: index * 2, as: Float16.self)
    case .bf16:
      let bits = Float(DType.bf16.rounded(value)).bitPattern >> 16
      p.storeBytes(of: UInt16(truncatingIfNeeded: bits), toByteOffset: index * 2, as: UInt16.self)
    case .i32: p.storeBytes(of: Int32(truncatingIfNeeded: Int64(value)), toByteOffset: index * 4, as: Int32.self)
    case .i64: p.storeBytes(of: Int64(value), toByteOffset: index * 8, as: Int64.self)
    case .i8: p.storeBytes(of: Int8(truncatingIfNeeded: Int64(value)), toByteOffset: index, as: Int8.self)
    case .u8, .bool: p.storeBytes(of: UInt8(truncatingIfNeeded: Int64(value)), toByteOffset: index, as: UInt8.self)
    default: preconditionFailure("write: \(binding.dtype) is quantized")
    }
  }

  static func fault(_ what: String, _ compiler: VectorCompiler, _ buffer: Int, _ index: Int, _ count: Int)
    -> VectorFault
  {
    VectorFault(
      detail: "\(what) \(compiler.kernel.buffers[buffer].name)[\(index)] is out of bounds (\(count) elements)")
  }

  static func load(_ r: KValue, _ buffer: Int, _ i: KValue, _ compiler: VectorCompiler) -> VectorStep {
    let rt = compiler.type(r), width = rt.lanes, out = compiler.offset(r), ri = compiler.offset(i)
    let float = compiler.isFloat(rt), dtype = rt.scalar
    if width == 1 && dtype == .f32 && compiler.kernel.buffers[buffer].dtype == .f32 {
      return { context, mask throws(VectorFault) in
        let binding = context.buffers[buffer], source = binding.pointer.assumingMemoryBound(to: Float.self)
        let (index, z) = (context.integers + ri, context.floats + out)
        for lane in 0..<context.lanes where mask.active(lane) {
          let element = Int(index[lane])
          guard element >= 0 && element < binding.count else {
            throw fault("load", compiler, buffer, element, binding.count)
          }
          z[lane] = source[element]
        }
      }
    }
    return { context, mask throws(VectorFault) in
      let binding = context.buffers[buffer]
      for lane in 0..<context.lanes where mask.active(lane) {
        let base = Int(context.integers[ri + lane])
        for k in 0..<width {
          let element = base + k
          guard element >= 0 && element < binding.count else {
            throw fault("load", compiler, buffer, element, binding.count)
          }
          let value = read(binding, element)
          if float {
            context.floats[out + lane * width + k] = VectorNumerics.roundFloat(value, dtype)
          } else {
            context.integers[out + lane * width + k] = VectorNumerics.wrapInteger(value, dtype)
          }
        }
      }
    }
  }

  static func loadDequantized(_ r: KValue, _ buffer: Int, _ i: KValue, _ compiler: VectorCompiler) -> VectorStep {
    let out = compiler.offset(r), ri = compiler.offset(i), dtype = compiler.kernel.buffers[buffer].dtype
    let width = compiler.type(r).lanes
    let decode = elementDecoder(dtype)
    return { context, mask throws(VectorFault) in
      let binding = context.buffers[buffer]
      for lane in 0..<context.lanes where mask.active(lane) {
        for k in 0..<width {
          let element = Int(context.integers[ri + lane]) + k
          guard element >= 0 && element < binding.count else {
            throw fault("load_dequant", compiler, buffer, element, binding.count)
          }
          context.floats[out + lane * width + k] = decode(UnsafeRawPointer(binding.pointer), element)
        }
      }
    }
  }

  /// Reads element `e` of a block-quantized buffer: q4_0, q4_1 and q8_0 as the native kernels
  /// decode them (so interpreted and native results agree bit for bit), every other block type
  /// through its one description.
  private static func elementDecoder(_ dtype: DType) -> @Sendable (UnsafeRawPointer, Int) -> Float {
    if QuantizedBlocks.readsInPlace(dtype) {
      return { base, e in
        let (low, high) = QuantizedBlocks.decode(base, block: e / 32, dtype: dtype)
        let j = e % 32
        return j < 16 ? low[j] : high[j - 16]
      }
    }
    let format = dtype.blockFormat!
    return { base, e in
      BlockDecoder.element(format, e % format.elements, of: base + e / format.elements * format.bytes)
    }
  }

  static func store(_ buffer: Int, _ i: KValue, _ v: KValue, _ compiler: VectorCompiler) -> VectorStep {
    let vt = compiler.type(v), width = vt.lanes, rv = compiler.offset(v), ri = compiler.offset(i)
    if width == 1 && vt.scalar == .f32 && compiler.kernel.buffers[buffer].dtype == .f32 {
      return { context, mask throws(VectorFault) in
        let binding = context.buffers[buffer], target = binding.pointer.assumingMemoryBound(to: Float.self)
        let (index, x) = (context.integers + ri, context.floats + rv)
        for lane in 0..<context.lanes where mask.active(lane) {
          let element = Int(index[lane])
          guard element >= 0 && element < binding.count else {
            throw fault("store", compiler, buffer, element, binding.count)
          }
          target[element] = x[lane]
        }
      }
    }
    let read = compiler.reader(v, resultLanes: width)
    return { context, mask throws(VectorFault) in
      let binding = context.buffers[buffer]
      for lane in 0..<context.lanes where mask.active(lane) {
        let base = Int(context.integers[ri + lane])
        for k in 0..<width {
          let element = base + k
          guard element >= 0 && element < binding.count else {
            throw fault("store", compiler, buffer, element, binding.count)
          }
          write(binding, element, read(context, lane * width + k))
        }
      }
    }
  }

  static func loadShared(_ r: KValue, _ array: Int, _ i: KValue, _ compiler: VectorCompiler) -> VectorStep {
    let out = compiler.offset(r), ri = compiler.offset(i), count = compiler.kernel.shared[array].count
    let float = compiler.isFloat(compiler.type(r)), name = compiler.kernel.shared[array].name
    return { context, mask throws(VectorFault) in
      let storage = context.shared[array]
      for lane in 0..<context.lanes where mask.active(lane) {
        let element = Int(context.integers[ri + lane])
        guard element >= 0 && element < count else {
          throw VectorFault(detail: "load_shared \(name)[\(element)] is out of bounds (\(count) elements)")
        }
        if float {
          context.floats[out + lane] = Float(storage[element])
        } else {
          context.integers[out + lane] = Int64(storage[element])
        }
      }
    }
  }

  static func storeShared(_ array: Int, _ i: KValue, _ v: KValue, _ compiler: VectorCompiler) -> VectorStep {
    let ri = compiler.offset(i), count = compiler.kernel.shared[array].count
    let read = compiler.reader(v, resultLanes: 1), dtype = compiler.kernel.shared[array].dtype
    let name = compiler.kernel.shared[array].name
    return { context, mask throws(VectorFault) in
      let storage = context.shared[array]
      for lane in 0..<context.lanes where mask.active(lane) {
        let element = Int(context.integers[ri + lane])
        guard element >= 0 && element < count else {
          throw VectorFault(detail: "store_shared \(name)[\(element)] is out of bounds (\(count) elements)")
        }
        let value = read(context, lane)
        storage[element] =
          dtype.isFloatingPoint
          ? Double(VectorNumerics.roundFloat(value, dtype)) : Double(VectorNumerics.wrapInteger(value, dtype))
      }
    }
  }
}

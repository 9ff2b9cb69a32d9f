import Foundation
import TesseraCompiler
import TesseraIR

/// Turns a kernel's instructions into ``VectorStep`` closures once; each closure runs one
/// instruction for every lane of a batch with a tight loop over a register array (no per-element
/// dispatch on the instruction or its types).
struct VectorCompiler {
  let kernel: Kernel
  let layout: VectorLayout
  let scalarIndex: [String: Int]

  func isFloat(_ type: KType) -> Bool { type.scalar.isFloatingPoint }
  func type(_ value: KValue) -> KType { kernel.valueTypes[value.id] }
  func offset(_ value: KValue) -> Int { layout.valueOffsets[value.id] }

  func compile(_ body: [KInstruction], depth: Int) -> [VectorStep] {
    body.map { compile($0, depth: depth) }
  }

  /// Runs `steps` in order.
  static func sequence(_ steps: [VectorStep]) -> VectorStep {
    { context, mask throws(VectorFault) in
      for step in steps { try step(context, mask) }
    }
  }

  func compile(_ instruction: KInstruction, depth: Int) -> VectorStep {
    switch instruction {
    case .constant(let r, let value):
      return fill(r) { _, _ in value }
    case .scalarArgument(let r, let name):
      let index = scalarIndex[name]!
      return fill(r) { context, _ in context.scalars[index] }
    case .builtin(let r, let builtin, let dimension):
      return builtinStep(r, builtin, dimension)
    case .unary(let r, let op, let a):
      return unary(r, op, a)
    case .binary(let r, let op, let a, let b):
      return binary(r, op, a, b)
    case .mulAdd(let r, let a, let b, let c):
      return mulAdd(r, a, b, c)
    case .compare(let r, let kind, let a, let b):
      return compare(r, kind, a, b)
    case .select(let r, let c, let a, let b):
      return select(r, c, a, b)
    case .cast(let r, let a), .splat(let r, let a):
      return convert(r, a)
    case .extract(let r, let a, let lane):
      return extract(r, a, lane)
    case .reduceLanes(let r, let op, let a):
      return reduceLanes(r, op, a)
    case .load(let r, let buffer, let index):
      return VectorMemory.load(r, buffer, index, self)
    case .loadDequantized(let r, let buffer, let index):
      return VectorMemory.loadDequantized(r, buffer, index, self)
    case .store(let buffer, let index, let value):
      return VectorMemory.store(buffer, index, value, self)
    case .loadShared(let r, let array, let index):
      return VectorMemory.loadShared(r, array, index, self)
    case .storeShared(let array, let index, let value):
      return VectorMemory.storeShared(array, index, value, self)
    case .declare(let variable, let value), .write(let variable, let value):
      return writeVariable(variable, value)
    case .read(let r, let variable):
      return readVariable(r, variable)
    case .loop(let index, let start, let end, let step, let body):
      return loop(index, start, end, step, compile(body, depth: depth + 1), depth: depth + 1)
    case .conditional(let condition, let then, let otherwise):
      return conditional(
        condition, compile(then, depth: depth + 1), compile(otherwise, depth: depth + 1), depth: depth + 1)
    case .barrier:
      // Lanes run in lockstep, one instruction for the whole group at a time: every shared write
      // before the barrier is already done.
      return { _, _ in }
    case .subgroupAdd(let r, let a):
      return subgroupAdd(r, a)
    }
  }

  // MARK: Register access

  /// A reader of element `e` (of a result with `resultLanes` vector lanes) of `value`, as Double.
  /// Only for the general (slow) paths.
  func reader(_ value: KValue, resultLanes: Int) -> @Sendable (VectorContext, Int) -> Double {
    let base = offset(value), lanes = type(value).lanes
    let broadcast = lanes == 1 && resultLanes > 1
    if isFloat(type(value)) {
      return { context, e in Double(context.floats[base + (broadcast ? e / resultLanes : e)]) }
    }
    return { context, e in Double(context.integers[base + (broadcast ? e / resultLanes : e)]) }
  }

  /// Sets every element of `r` (all lanes: values of inactive lanes are never read) from a Double.
  func fill(_ r: KValue, _ compute: @escaping @Sendable (VectorContext, Int) -> Double) -> VectorStep {
    let base = offset(r), width = type(r).lanes, dtype = type(r).scalar
    if isFloat(type(r)) {
      return { context, _ in
        let out = context.floats + base
        for e in 0..<(context.lanes * width) { out[e] = VectorNumerics.roundFloat(compute(context, e), dtype) }
      }
    }
    return { context, _ in
      let out = context.integers + base
      for e in 0..<(context.lanes * width) { out[e] = VectorNumerics.wrapInteger(compute(context, e), dtype) }
    }
  }

  // MARK: Builtins

  func builtinStep(_ r: KValue, _ builtin: KBuiltin, _ dimension: Int) -> VectorStep {
    let base = offset(r), groupSize = layout.groupSize
    let size = kernel.workgroupSize[dimension]
    let innerLocal = kernel.workgroupSize[..<dimension].reduce(1, *)
    return { context, _ in
      let out = context.integers + base
      var innerGroups = 1
      for d in 0..<dimension { innerGroups *= context.groupCounts[d] }
      let count = context.groupCounts[dimension]
      for lane in 0..<context.lanes {
        let group = (context.firstGroup + lane / groupSize) / innerGroups % count
        let local = (lane % groupSize) / innerLocal % size
        out[lane] =
          switch builtin {
          case .globalID: Int64(group * size + local)
          case .localID: Int64(local)
          case .groupID: Int64(group)
          case .groupCount: Int64(count)
          }
      }
    }
  }

  // MARK: Arithmetic

  func unary(_ r: KValue, _ op: KUnaryOp, _ a: KValue) -> VectorStep {
    let dtype = type(r).scalar
    if isFloat(type(r)) && dtype == .f32 && type(a).lanes == type(r).lanes {
      switch op {
      case .neg: return floatMap(r, a) { -$0 }
      case .abs: return floatMap(r, a) { Swift.abs($0) }
      case .exp: return floatMap(r, a) { Foundation.exp($0) }
      case .log: return floatMap(r, a) { Foundation.log($0) }
      case .sqrt: return floatMap(r, a) { $0.squareRoot() }
      case .rsqrt: return floatMap(r, a) { 1 / $0.squareRoot() }
      case .reciprocal: return floatMap(r, a) { 1 / $0 }
      case .tanh: return floatMap(r, a) { Foundation.tanh($0) }
      case .sin: return floatMap(r, a) { Foundation.sin($0) }
      case .cos: return floatMap(r, a) { Foundation.cos($0) }
      case .erf: return floatMap(r, a) { Foundation.erf($0) }
      case .floor: return floatMap(r, a) { $0.rounded(.down) }
      }
    }
    let read = reader(a, resultLanes: type(r).lanes)
    return fill(r) { context, e in KIRMath.unary(op)(read(context, e)) }
  }

  func binary(_ r: KValue, _ op: KBinaryOp, _ a: KValue, _ b: KValue) -> VectorStep {
    let resultType = type(r)
    let sameShape = type(a).lanes == resultType.lanes && type(b).lanes == resultType.lanes
    if sameShape && resultType.scalar == .f32 {
      switch op {
      case .add: return floatZip(r, a, b) { $0 + $1 }
      case .sub: return floatZip(r, a, b) { $0 - $1 }
      case .mul: return floatZip(r, a, b) { $0 * $1 }
      case .div: return floatZip(r, a, b) { $0 / $1 }
      case .max: return floatZip(r, a, b) { $0.isNaN || $1.isNaN ? .nan : Swift.max($0, $1) }
      case .min: return floatZip(r, a, b) { $0.isNaN || $1.isNaN ? .nan : Swift.min($0, $1) }
      case .pow: return floatZip(r, a, b) { Foundation.pow($0, $1) }
      default: break
      }
    }
    if sameShape && !isFloat(resultType) && !isFloat(type(a)) {
      let dtype = resultType.scalar
      switch op {
      case .add: return integerZip(r, a, b) { VectorNumerics.wrap($0 &+ $1, dtype) }
      case .sub: return integerZip(r, a, b) { VectorNumerics.wrap($0 &- $1, dtype) }
      case .mul: return integerZip(r, a, b) { VectorNumerics.wrap($0 &* $1, dtype) }
      case .div:
        return integerZip(r, a, b) {
          VectorNumerics.wrap($1 == 0 ? 0 : $0.dividedReportingOverflow(by: $1).partialValue, dtype)
        }
      case .rem:
        return integerZip(r, a, b) {
          VectorNumerics.wrap($1 == 0 ? 0 : $0.remainderReportingOverflow(dividingBy: $1).partialValue, dtype)
        }
      case .max: return integerZip(r, a, b) { Swift.max($0, $1) }
      case .min: return integerZip(r, a, b) { Swift.min($0, $1) }
      case .and: return integerZip(r, a, b) { $0 != 0 && $1 != 0 ? 1 : 0 }
      case .or: return integerZip(r, a, b) { $0 != 0 || $1 != 0 ? 1 : 0 }
      case .pow: break
      }
    }
    let integer = !isFloat(type(a))
    let readA = reader(a, resultLanes: resultType.lanes), readB = reader(b, resultLanes: resultType.lanes)
    return fill(r) { context, e in
      let (x, y) = (readA(context, e), readB(context, e))
      if integer && (op == .div || op == .rem) && y == 0 { return 0 }
      return KIRMath.binary(op, x, y, integer: integer)
    }
  }

  /// `a · b + c` (f32 products of f32 values are exact in Double, so one rounding at the end).
  func mulAdd(_ r: KValue, _ a: KValue, _ b: KValue, _ c: KValue) -> VectorStep {
    let lanes = type(r).lanes
    let (readA, readB, readC) = (
      reader(a, resultLanes: lanes), reader(b, resultLanes: lanes), reader(c, resultLanes: lanes)
    )
    return fill(r) { context, e in readA(context, e) * readB(context, e) + readC(context, e) }
  }

  func compare(_ r: KValue, _ kind: CompareKind, _ a: KValue, _ b: KValue) -> VectorStep {
    let resultLanes = type(r).lanes
    if resultLanes == 1 && type(a).lanes == 1 && type(b).lanes == 1 {
      let (ra, rb, out) = (offset(a), offset(b), offset(r))
      if isFloat(type(a)) {
        return { context, _ in
          let (x, y, z) = (context.floats + ra, context.floats + rb, context.integers + out)
          for e in 0..<context.lanes { z[e] = kind.holds(x[e], y[e]) ? 1 : 0 }
        }
      }
      return { context, _ in
        let (x, y, z) = (context.integers + ra, context.integers + rb, context.integers + out)
        for e in 0..<context.lanes { z[e] = kind.holds(x[e], y[e]) ? 1 : 0 }
      }
    }
    let readA = reader(a, resultLanes: resultLanes), readB = reader(b, resultLanes: resultLanes)
    return fill(r) { context, e in kind.holds(readA(context, e), readB(context, e)) ? 1 : 0 }
  }

  func select(_ r: KValue, _ c: KValue, _ a: KValue, _ b: KValue) -> VectorStep {
    let resultType = type(r)
    if [type(c).lanes, type(a).lanes, type(b).lanes].allSatisfy({ $0 == resultType.lanes }) {
      let (rc, ra, rb, out) = (offset(c), offset(a), offset(b), offset(r))
      if isFloat(resultType) {
        return { context, _ in
          let (condition, x, y, z) = (
            context.integers + rc, context.floats + ra, context.floats + rb, context.floats + out
          )
          for e in 0..<(context.lanes * resultType.lanes) { z[e] = condition[e] != 0 ? x[e] : y[e] }
        }
      }
      return { context, _ in
        let (condition, x, y, z) = (
          context.integers + rc, context.integers + ra, context.integers + rb, context.integers + out
        )
        for e in 0..<(context.lanes * resultType.lanes) { z[e] = condition[e] != 0 ? x[e] : y[e] }
      }
    }
    let lanes = resultType.lanes
    let (readC, readA, readB) = (
      reader(c, resultLanes: lanes), reader(a, resultLanes: lanes), reader(b, resultLanes: lanes)
    )
    return fill(r) { context, e in readC(context, e) != 0 ? readA(context, e) : readB(context, e) }
  }

  /// `cast` and `splat`: element conversion (a splat reads its scalar for every vector lane).
  func convert(_ r: KValue, _ a: KValue) -> VectorStep {
    let (source, target) = (type(a), type(r))
    if source.lanes == target.lanes {
      let (ra, out) = (offset(a), offset(r))
      switch (isFloat(source), isFloat(target)) {
      case (true, true) where target.scalar == .f32:
        return { context, _ in
          (context.floats + out).update(from: context.floats + ra, count: context.lanes * target.lanes)
        }
      case (true, false):
        let dtype = target.scalar
        return { context, _ in
          let (x, z) = (context.floats + ra, context.integers + out)
          for e in 0..<(context.lanes * target.lanes) { z[e] = VectorNumerics.floatToInteger(x[e], dtype) }
        }
      case (false, true) where target.scalar == .f32:
        return { context, _ in
          let (x, z) = (context.integers + ra, context.floats + out)
          for e in 0..<(context.lanes * target.lanes) { z[e] = Float(x[e]) }
        }
      default: break
      }
    }
    let read = reader(a, resultLanes: target.lanes)
    let truncate = !isFloat(target) && target.scalar != .bool
    return fill(r) { context, e in
      let x = read(context, e)
      return truncate ? (x.isFinite ? x.rounded(.towardZero) : 0) : x
    }
  }

  func extract(_ r: KValue, _ a: KValue, _ index: Int) -> VectorStep {
    let read = reader(a, resultLanes: 1), width = type(a).lanes
    return fill(r) { context, lane in read(context, lane * width + index) }
  }

  func reduceLanes(_ r: KValue, _ op: KBinaryOp, _ a: KValue) -> VectorStep {
    let read = reader(a, resultLanes: 1), width = type(a).lanes
    return fill(r) { context, lane in
      (1..<width).reduce(read(context, lane * width)) {
        KIRMath.binary(op, $0, read(context, lane * width + $1), integer: false)
      }
    }
  }

  /// Each row of `workgroupSize[0]` consecutive lanes (a batch holds whole workgroups) sums `a`
  /// in the interpreter's tree order (``KInstruction/subgroupAdd(_:_:)``).
  func subgroupAdd(_ r: KValue, _ a: KValue) -> VectorStep {
    let (ra, out, rowSize) = (offset(a), offset(r), kernel.workgroupSize[0])
    return { context, _ in
      let (x, z) = (context.floats + ra, context.floats + out)
      var partial = [Float](repeating: 0, count: rowSize)
      for first in stride(from: 0, to: context.lanes, by: rowSize) {
        for l in 0..<rowSize { partial[l] = x[first + l] }
        var half = rowSize / 2
        while half >= 1 {
          for l in 0..<half { partial[l] += partial[l + half] }
          half /= 2
        }
        for l in 0..<rowSize { z[first + l] = partial[0] }
      }
    }
  }

  /// `out = f(a)` on f32 registers of equal width.
  @inline(__always)
  func floatMap(_ r: KValue, _ a: KValue, _ f: @escaping @Sendable (Float) -> Float) -> VectorStep {
    let (ra, out, width) = (offset(a), offset(r), type(r).lanes)
    return { context, _ in
      let (x, z) = (context.floats + ra, context.floats + out)
      for e in 0..<(context.lanes * width) { z[e] = f(x[e]) }
    }
  }

  /// `out = f(a, b)` on f32 registers of equal width.
  @inline(__always)
  func floatZip(_ r: KValue, _ a: KValue, _ b: KValue, _ f: @escaping @Sendable (Float, Float) -> Float)
    -> VectorStep
  {
    let (ra, rb, out, width) = (offset(a), offset(b), offset(r), type(r).lanes)
    return { context, _ in
      let (x, y, z) = (context.floats + ra, context.floats + rb, context.floats + out)
      for e in 0..<(context.lanes * width) { z[e] = f(x[e], y[e]) }
    }
  }

  /// `out = f(a, b)` on integer registers of equal width.
  @inline(__always)
  func integerZip(_ r: KValue, _ a: KValue, _ b: KValue, _ f: @escaping @Sendable (Int64, Int64) -> Int64)
    -> VectorStep
  {
    let (ra, rb, out, width) = (offset(a), offset(b), offset(r), type(r).lanes)
    return { context, _ in
      let (x, y, z) = (context.integers + ra, context.integers + rb, context.integers + out)
      for e in 0..<(context.lanes * width) { z[e] = f(x[e], y[e]) }
    }
  }

  // MARK: Variables and control flow

  func writeVariable(_ variable: KVariable, _ value: KValue) -> VectorStep {
    let width = kernel.variableTypes[variable.id].lanes
    let target = layout.variableOffsets[variable.id]
    let read = reader(value, resultLanes: width)
    let float = isFloat(kernel.variableTypes[variable.id]), dtype = kernel.variableTypes[variable.id].scalar
    let source = offset(value), direct = type(value).lanes == width && isFloat(type(value)) == float
    return { context, mask in
      if direct, mask.bits == nil {
        if float {
          (context.floats + target).update(from: context.floats + source, count: context.lanes * width)
        } else {
          (context.integers + target).update(from: context.integers + source, count: context.lanes * width)
        }
        return
      }
      for lane in 0..<context.lanes where mask.active(lane) {
        for k in 0..<width {
          let e = lane * width + k, x = read(context, e)
          if float {
            context.floats[target + e] = VectorNumerics.roundFloat(x, dtype)
          } else {
            context.integers[target + e] = VectorNumerics.wrapInteger(x, dtype)
          }
        }
      }
    }
  }

  func readVariable(_ r: KValue, _ variable: KVariable) -> VectorStep {
    let count = type(r).lanes, source = layout.variableOffsets[variable.id], out = offset(r)
    if isFloat(type(r)) {
      return { context, _ in (context.floats + out).update(from: context.floats + source, count: context.lanes * count)
      }
    }
    return { context, _ in
      (context.integers + out).update(from: context.integers + source, count: context.lanes * count)
    }
  }

  func loop(_ index: KValue, _ start: KValue, _ end: KValue, _ step: Int, _ body: [VectorStep], depth: Int)
    -> VectorStep
  {
    let (ri, rs, re) = (offset(index), offset(start), offset(end))
    let run = Self.sequence(body)
    return { context, mask throws(VectorFault) in
      let i = context.integers + ri
      (context.integers + ri).update(from: context.integers + rs, count: context.lanes)
      let active = context.maskBuffer(depth)
      while true {
        var any = false, all = true
        for lane in 0..<context.lanes {
          let on = mask.active(lane) && i[lane] < context.integers[re + lane]
          active[lane] = on
          any = any || on
          all = all && on
        }
        guard any else { break }
        try run(context, VectorMask(bits: all ? nil : active))
        for lane in 0..<context.lanes where active[lane] { i[lane] &+= Int64(step) }
      }
    }
  }

  func conditional(_ condition: KValue, _ then: [VectorStep], _ otherwise: [VectorStep], depth: Int) -> VectorStep {
    let rc = offset(condition)
    let (runThen, runOtherwise) = (Self.sequence(then), Self.sequence(otherwise))
    let hasOtherwise = !otherwise.isEmpty
    return { context, mask throws(VectorFault) in
      let c = context.integers + rc, bits = context.maskBuffer(depth)
      var taken = 0, eligible = 0
      for lane in 0..<context.lanes {
        let on = mask.active(lane)
        bits[lane] = on && c[lane] != 0
        eligible += on ? 1 : 0
        taken += bits[lane] ? 1 : 0
      }
      if taken > 0 { try runThen(context, VectorMask(bits: taken == context.lanes ? nil : bits)) }
      guard hasOtherwise && taken < eligible else { return }
      for lane in 0..<context.lanes { bits[lane] = mask.active(lane) && c[lane] == 0 }
      try runOtherwise(context, VectorMask(bits: eligible - taken == context.lanes ? nil : bits))
    }
  }
}

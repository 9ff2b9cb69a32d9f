import TesseraIR
import TesseraRuntime

/// One encoded step of the `cpu` device: its kernel with the memory it reads and writes bound.
/// A struct around the closure, not the closure alone: an array of bare closures stores them at
/// the most general abstraction, and each call went through a reabstraction thunk.
struct StepRun {
  /// Runs the step.
  let run: () throws(DeviceError) -> Void
}

extension CPUPlanBackend {
  /// `action` bound to its memory: `pointer` gives each value's address (resolved when the steps
  /// are encoded), `tiles` the ``QuantizedTiles`` copy of each tiled weight. The step's output
  /// address, its weight's tiles, its vector kernel's buffer bindings and the device's settings
  /// are resolved now, once per encoding; running the result looks nothing up and copies nothing.
  func bound(
    _ action: Action, root: ValueID, pointer: @escaping (ValueID) -> UnsafeMutableRawPointer,
    tiles: [ValueID: UnsafeRawPointer]
  ) -> StepRun {
    let output = pointer(root)
    let pool = pool
    switch action {
    case .native(let matmul):
      let (tiles, precision) = (tiles[matmul.b], precision)
      return StepRun { matmul.run(output: output, pointer: pointer, tiles: tiles, precision: precision, pool: pool) }
    case .sharedActivation(let matmuls):
      let precision = precision
      return StepRun { matmuls.run(pointer: pointer, precision: precision, pool: pool) }
    case .convolution(let kernel): return StepRun { kernel.run(output: output, pointer: pointer, pool: pool) }
    case .pooling(let kernel): return StepRun { kernel.run(output: output, pointer: pointer, pool: pool) }
    case .reduction(let kernel): return StepRun { kernel.run(output: output, pointer: pointer, pool: pool) }
    case .rows(let kernel): return StepRun { kernel.run(output: output, pointer: pointer, pool: pool) }
    case .strided(let kernel): return StepRun { kernel.run(output: output, pointer: pointer, pool: pool) }
    case .sliceUpdate(let update): return StepRun { update.run(output: output, pointer: pointer) }
    case .argmax(let argmax): return StepRun { argmax.run(output: output, pointer: pointer) }
    case .dequantize(let kernel): return StepRun { kernel.run(output: output, pointer: pointer, pool: pool) }
    case .gather(let kernel):
      return StepRun { () throws(DeviceError) in try kernel.run(output: output, pointer: pointer, pool: pool) }
    case .vector(let kernel, let call):
      let bindings = zip(call.buffers, call.kernel.buffers).map { value, parameter in
        KernelBufferBinding(pointer: pointer(value), count: graph.type(of: value).shape.count, dtype: parameter.dtype)
      }
      let scalars = call.scalars
      return StepRun { () throws(DeviceError) in try kernel.run(buffers: bindings, scalars: scalars, pool: pool) }
    }
  }
}

/// The core's buffer sizes and its cycle model. The defaults follow an Ascend-910-class AI core
/// (docs/npu-isa.md): 1 GHz, a 16x16x16 fp16 cube (4096 MAC/cycle), L1 1 MiB, L0A/L0B 64 KiB,
/// L0C 256 KiB, UB 256 KiB.
public struct NPUConfig: Hashable, Sendable {
  /// Cost of one DMA route: bytes per cycle while it streams and cycles before the first byte lands.
  public struct Link: Hashable, Sendable {
    /// Bytes per cycle.
    public var bytesPerCycle: Int
    /// Fixed cycles per transfer.
    public var latency: Int
    /// Creates a link.
    public init(bytesPerCycle: Int, latency: Int) {
      self.bytesPerCycle = bytesPerCycle
      self.latency = latency
    }
  }

  /// Bytes of global memory (device DRAM). Programs load addresses as 32-bit immediates, so at
  /// most 2 GiB.
  public var globalMemoryBytes = 1 << 30
  /// Clock in GHz (cycles → seconds in reports).
  public var clockGHz = 1.0
  /// On-chip buffer sizes in bytes.
  public var l1Bytes = 1 << 20, l0aBytes = 64 << 10, l0bBytes = 64 << 10, l0cBytes = 256 << 10, ubBytes = 256 << 10
  /// Cube fractals (16x16x16 fp16, or 16x32x16 int8) per cycle, and the cube's pipeline latency.
  public var cubeFractalsPerCycle = 1, cubeLatency = 16
  /// Global memory → L1/UB (MTE2).
  public var gmRead = Link(bytesPerCycle: 128, latency: 100)
  /// L1 → L0A/L0B (MTE1).
  public var l1Read = Link(bytesPerCycle: 256, latency: 8)
  /// L0C → UB (FIXP), bytes counted on the fp32 accumulator side.
  public var l0cRead = Link(bytesPerCycle: 256, latency: 8)
  /// UB → global memory (MTE3).
  public var gmWrite = Link(bytesPerCycle: 128, latency: 100)
  /// Vector bytes per cycle (64 f32 lanes) and per-instruction latency; transcendental
  /// functions take 4 passes.
  public var vectorBytesPerCycle = 256, vectorLatency = 8
  /// Instructions a unit's queue holds before the scalar unit stalls.
  public var queueDepth = 32
  /// The scalar unit stops a program that runs more instructions than this.
  public var instructionBudget = 50_000_000

  /// The default configuration.
  public init() {}

  /// Size of an on-chip memory (`gm` is sized per program).
  public func bytes(of memory: NPUMemory) -> Int {
    switch memory {
    case .gm: 0
    case .l1: l1Bytes
    case .l0a: l0aBytes
    case .l0b: l0bBytes
    case .l0c: l0cBytes
    case .ub: ubBytes
    }
  }

  /// The link a DMA route uses.
  public func link(_ route: DMARoute) -> Link {
    switch route {
    case .gm2l1, .gm2ub: gmRead
    case .l12l0a, .l12l0b: l1Read
    case .l0c2ub: l0cRead
    case .ub2gm: gmWrite
    }
  }

  /// Peak multiply-accumulates per cycle for fp16 operands.
  public var peakMACsPerCycle: Int { 16 * 16 * 16 * cubeFractalsPerCycle }
}

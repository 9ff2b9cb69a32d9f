import Glibc

/// The data cache sizes of the CPU this process runs on, as the C library reports them
/// (`sysconf`, which reads them from `cpuid` on x86), with common sizes where it reports none.
/// ``SGEMM`` derives its block sizes from them rather than from constants, so one binary blocks
/// for Intel's 2 MiB L2 and AMD's 512 KiB–1 MiB alike.
public struct CacheSizes: Sendable, Hashable {
  /// Bytes of level-1 data cache per core.
  public var level1: Int
  /// Bytes of level-2 cache per core.
  public var level2: Int

  /// Sizes given by hand (tests, or to try a block shape).
  public init(level1: Int, level2: Int) {
    self.level1 = level1
    self.level2 = level2
  }

  /// The host's caches: 32 KiB and 1 MiB where the C library reports nothing.
  public static let host = CacheSizes(
    level1: reported(Int32(_SC_LEVEL1_DCACHE_SIZE)) ?? 32 << 10,
    level2: reported(Int32(_SC_LEVEL2_CACHE_SIZE)) ?? 1 << 20)

  private static func reported(_ name: Int32) -> Int? {
    let size = sysconf(name)
    return size >= 4096 ? size : nil
  }
}

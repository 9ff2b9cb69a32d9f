/// The shape of the kernel library's staged matmul (a GPU's large f32 and f16 products;
/// ``TargetCapabilities/stagedMatmul``): a workgroup of
/// `workgroupColumns x workgroupRows` work-items computes a `tileRows x tileColumns` block of the
/// result, each work-item `rows x columns` of it in registers, stepping through K in slices of
/// `depth` that the workgroup stages in shared memory.
public struct MatmulTiling: Hashable, Sendable, Codable, CustomStringConvertible {
  /// Result rows per work-item.
  public var rows: Int
  /// Result columns per work-item.
  public var columns: Int
  /// Work-items along the result's columns (workgroup dimension 0).
  public var workgroupColumns: Int
  /// Work-items along the result's rows (workgroup dimension 1).
  public var workgroupRows: Int
  /// Elements of K in each staged slice.
  public var depth: Int

  /// 4 x 4 results per work-item in 16 x 16 workgroups (64 x 64 blocks), 16-deep slices by
  /// default: 8 KiB of shared memory and 16 accumulators a work-item, within every GPU's limits.
  public init(rows: Int = 4, columns: Int = 4, workgroupColumns: Int = 16, workgroupRows: Int = 16, depth: Int = 16) {
    self.rows = rows
    self.columns = columns
    self.workgroupColumns = workgroupColumns
    self.workgroupRows = workgroupRows
    self.depth = depth
  }

  /// Rows of the result per workgroup.
  public var tileRows: Int { rows * workgroupRows }
  /// Columns of the result per workgroup.
  public var tileColumns: Int { columns * workgroupColumns }
  /// Work-items per workgroup.
  public var workItems: Int { workgroupRows * workgroupColumns }
  /// Shared-memory bytes: the slice of A (one padding element a step of K) and of B, in f32.
  public var sharedBytes: Int { 4 * (depth * (tileRows + 1) + depth * tileColumns) }

  /// `64x64 blocks of 4x4, depth 16`.
  public var description: String { "\(tileRows)x\(tileColumns) blocks of \(rows)x\(columns), depth \(depth)" }

  /// What makes this tiling unusable on a device allowing `maxWorkgroupSize` work-items and
  /// `maxSharedBytes` bytes of shared memory a workgroup; `nil` when it is usable.
  public func problem(maxWorkgroupSize: Int, maxSharedBytes: Int) -> String? {
    if [rows, columns, workgroupColumns, workgroupRows, depth].contains(where: { $0 < 1 || $0 > 64 }) {
      return "every size of \(self) must be between 1 and 64"
    }
    if workItems > maxWorkgroupSize {
      return "\(workItems) work-items is more than the device's workgroup limit \(maxWorkgroupSize)"
    }
    if sharedBytes > maxSharedBytes {
      return "\(sharedBytes) bytes of shared memory is more than the device's \(maxSharedBytes)"
    }
    return nil
  }
}

extension TargetCapabilities {
  /// Keeps ``stagedMatmul`` (where the target stages at all) as ``KernelTuning/stagedMatmul``
  /// where a tuning chose one, and only where it fits a device allowing `maxWorkgroupSize`
  /// work-items and `maxSharedBytes` bytes of shared memory a workgroup: a tuning that does not
  /// fit falls back to the target's tiling, a tiling that does not fit to the register-blocked
  /// kernel.
  public mutating func fitStagedMatmul(maxWorkgroupSize: Int, maxSharedBytes: Int) {
    guard let untuned = stagedMatmul else { return }
    stagedMatmul = [tuning.stagedMatmul, untuned].compactMap { $0 }.first {
      $0.problem(maxWorkgroupSize: maxWorkgroupSize, maxSharedBytes: maxSharedBytes) == nil
    }
  }
}

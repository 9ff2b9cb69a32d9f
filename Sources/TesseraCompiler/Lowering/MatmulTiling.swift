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
  /// default: 256 work-items, 8.1 KiB of shared memory and 16 accumulators a work-item (a device
  /// allowing fewer work-items or less memory keeps the register-blocked kernel:
  /// ``TargetCapabilities/fitStagedMatmul(maxWorkgroupSize:maxSharedBytes:)``).
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

  /// Whether this tiling is usable on a device allowing `maxWorkgroupSize` work-items and
  /// `maxSharedBytes` bytes of shared memory a workgroup (``problem(maxWorkgroupSize:maxSharedBytes:)``
  /// finds nothing).
  public func fits(maxWorkgroupSize: Int, maxSharedBytes: Int) -> Bool {
    problem(maxWorkgroupSize: maxWorkgroupSize, maxSharedBytes: maxSharedBytes) == nil
  }
}

extension MatmulTiling {
  /// The tilings `tessera tune` may measure: 4 or 8 rows by 4 or 8 columns a work-item,
  /// workgroups of 8 x 8, 16 x 8, 8 x 16 or 16 x 16, slices 8, 16 or 32 deep (48).
  public static let searched: [MatmulTiling] = [(4, 4), (8, 4), (4, 8), (8, 8)].flatMap { rows, columns in
    [(8, 8), (16, 8), (8, 16), (16, 16)].flatMap { workgroupColumns, workgroupRows in
      [8, 16, 32].map { depth in
        MatmulTiling(
          rows: rows, columns: columns, workgroupColumns: workgroupColumns, workgroupRows: workgroupRows, depth: depth)
      }
    }
  }

  /// The `tilings` (by default ``searched``) usable within a device's limits.
  public static func candidates(
    among tilings: [MatmulTiling] = searched, maxWorkgroupSize: Int, maxSharedBytes: Int
  ) -> [MatmulTiling] {
    tilings.filter { $0.fits(maxWorkgroupSize: maxWorkgroupSize, maxSharedBytes: maxSharedBytes) }
  }
}

extension TargetCapabilities {
  /// The tiling a large product takes: the tuning's (``KernelTuning/stagedMatmul``) where the
  /// target stages its products at all, else ``stagedMatmul``; `nil` where it does not stage.
  public var stagedMatmulTiling: MatmulTiling? { stagedMatmul.map { tuning.stagedMatmul ?? $0 } }

  /// Drops a tuning's staged tiling that does not fit a device allowing `maxWorkgroupSize`
  /// work-items and `maxSharedBytes` bytes of shared memory a workgroup (the target's own tiling
  /// is then used), and the target's tiling where that does not fit (the register-blocked kernel
  /// is then used).
  public mutating func fitStagedMatmul(maxWorkgroupSize: Int, maxSharedBytes: Int) {
    if tuning.stagedMatmul?.fits(maxWorkgroupSize: maxWorkgroupSize, maxSharedBytes: maxSharedBytes) == false {
      tuning.stagedMatmul = nil
    }
    if stagedMatmul?.fits(maxWorkgroupSize: maxWorkgroupSize, maxSharedBytes: maxSharedBytes) == false {
      stagedMatmul = nil
    }
  }
}

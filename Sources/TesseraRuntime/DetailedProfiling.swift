import TesseraIR

/// A device that can say more about a run than kernel times: a report of its own (the NPU's
/// cycle model by unit) and, when asked, a Chrome/Perfetto trace of its units alone.
/// `tessera run --profile` prints the report; `--trace` writes the trace of every device
/// (``TraceRecorder``, docs/tracing.md).
public protocol DetailedProfiling: Device {
  /// Runs `graph` once on `inputs` (in argument order) and returns the device's report and,
  /// with `trace`, the trace as Chrome trace JSON.
  func detailedProfile(of graph: Graph, inputs: [Tensor], trace: Bool) throws(DeviceError) -> (
    report: String, chromeTrace: String?
  )
}

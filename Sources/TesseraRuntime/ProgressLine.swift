import Foundation

/// Where a ``ProgressLine`` draws: whether it is a terminal, how to write to it, and the clock.
public struct ProgressOutput: Sendable {
  /// Whether the output is a terminal (a progress line is drawn only there).
  public var isTerminal: Bool
  /// Writes text as it is, without a newline.
  public var write: @Sendable (String) -> Void
  /// Seconds on a monotonic clock.
  public var now: @Sendable () -> Double

  /// An output of your own (tests draw into a buffer with a clock they advance).
  public init(isTerminal: Bool, write: @escaping @Sendable (String) -> Void, now: @escaping @Sendable () -> Double) {
    self.isTerminal = isTerminal
    self.write = write
    self.now = now
  }

  /// Standard error: a terminal when `isatty(2)` says so and `TESSERA_PROGRESS` is not `0`.
  public static let standardError = ProgressOutput(
    isTerminal: isatty(2) == 1 && ProcessInfo.processInfo.environment["TESSERA_PROGRESS"] != "0",
    write: { FileHandle.standardError.write(Data($0.utf8)) },
    now: { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 })
}

/// One line of progress for long work (`building 42 kernels for opencl:0 17/42`, or for one call
/// that cannot count, `building the program for @prefill 12 s`), redrawn in place on a terminal and
/// erased when the work ends. Quiet when the output is not a terminal, and for work that ends
/// before ``delay`` seconds: short work draws nothing.
///
/// Thread safety: `@unchecked Sendable`; the count and the drawing are under a lock.
public final class ProgressLine: @unchecked Sendable {
  /// Seconds before the first drawing.
  public static let delay = 0.5
  /// Seconds between drawings.
  public static let interval = 0.1

  private let label: String
  private let total: Int?
  private let output: ProgressOutput
  private let start: Double
  private var done = 0
  private var lastDrawn: Double?
  private var finished = false
  private let lock = NSLock()

  /// Starts counting `total` pieces of work named `label` (`nil`: work that shows only the
  /// seconds it has taken).
  public init(_ label: String, total: Int?, output: ProgressOutput = .standardError) {
    self.label = label
    self.total = total
    self.output = output
    start = output.now()
  }

  /// Counts `count` more pieces done and redraws when it is time.
  public func advance(by count: Int = 1) {
    guard output.isTerminal else { return }
    lock.withLock {
      done += count
      let now = output.now()
      guard !finished, now - start >= Self.delay, lastDrawn.map({ now - $0 >= Self.interval }) ?? true else {
        return
      }
      lastDrawn = now
      let count = total.map { "\(done)/\($0)" } ?? "\(Int(now - start)) s"
      output.write("\r\u{1B}[K\(label) \(count)")
    }
  }

  /// Erases the line, if one was drawn; nothing is drawn after it.
  public func finish() {
    lock.withLock {
      if lastDrawn != nil { output.write("\r\u{1B}[K") }
      lastDrawn = nil
      finished = true
    }
  }

  /// Runs `body`, long work with a line redrawn from a timer while it runs (so it appears after
  /// ``delay`` even before anything is counted): work of `total` pieces that `body` counts on the
  /// line it is given (``advance(by:)``, from any thread), or with no `total` one call that
  /// cannot count its own progress, shown with the seconds it has taken.
  public static func during<Result, Failure: Error>(
    _ label: String, total: Int? = nil, output: ProgressOutput = .standardError,
    _ body: (ProgressLine) throws(Failure) -> Result
  ) throws(Failure) -> Result {
    let progress = ProgressLine(label, total: total, output: output)
    guard output.isTerminal else { return try body(progress) }
    let timer = DispatchSource.makeTimerSource(queue: .global())
    timer.schedule(deadline: .now() + delay, repeating: interval)
    timer.setEventHandler { progress.advance(by: 0) }
    timer.resume()
    defer {
      timer.cancel()
      progress.finish()
    }
    return try body(progress)
  }
}

/// Something told about each phase of a compile while it runs: a trace recorder in TesseraRuntime
/// times them. The compiler knows nothing of what the observer does with them.
public protocol CompilePhaseObserver: Sendable {
  /// Runs `body`, the phase called `name` (`pass dce`, `fusion`, `memory plan`…), and returns
  /// its result.
  func phase<Result, Failure: Error>(_ name: String, _ body: () throws(Failure) -> Result) throws(Failure) -> Result
}

/// The observer of compiles on the current task or thread, if any (none by default: then a
/// phase costs one task-local read).
public enum CompileInstrumentation {
  /// The observer, bound with `CompileInstrumentation.$observer.withValue(_:operation:)`.
  @TaskLocal public static var observer: (any CompilePhaseObserver)?

  /// Runs `body` as the phase `name`, through the observer when there is one.
  public static func phase<Result, Failure: Error>(_ name: String, _ body: () throws(Failure) -> Result)
    throws(Failure) -> Result
  {
    guard let observer else { return try body() }
    return try observer.phase(name, body)
  }
}

import Foundation
import TesseraRuntime
import Testing

/// The progress line: quiet off a terminal and for short work, redrawn in place at most every
/// interval, erased at the end.
@Suite("Progress line")
struct ProgressLineTests {
  /// A terminal (or not) that records what is written, with a clock the test sets.
  final class FakeOutput: @unchecked Sendable {
    var written: [String] = []
    var writtenAt: [Double] = []
    var time = 0.0
    func output(isTerminal: Bool) -> ProgressOutput {
      ProgressOutput(
        isTerminal: isTerminal,
        write: {
          self.written.append($0)
          self.writtenAt.append(self.time)
        }, now: { self.time })
    }
  }

  @Test func quietWhenNotATerminal() {
    let fake = FakeOutput()
    let progress = ProgressLine("work", total: 3, output: fake.output(isTerminal: false))
    for step in 1...3 {
      fake.time = Double(step)
      progress.advance()
    }
    progress.finish()
    #expect(fake.written.isEmpty)
  }

  @Test func shortWorkDrawsNothing() {
    let fake = FakeOutput()
    let progress = ProgressLine("work", total: 100, output: fake.output(isTerminal: true))
    for step in 1...100 {
      fake.time = Double(step) * ProgressLine.delay / 200
      progress.advance()
    }
    progress.finish()
    #expect(fake.written.isEmpty)
  }

  @Test func longWorkIsRedrawnInPlaceAndErased() {
    let fake = FakeOutput()
    let progress = ProgressLine("building", total: 10, output: fake.output(isTerminal: true))
    // Steps at 0.3 s, 0.6 s, …: the first drawing at 0.6 s (after the delay), then every step
    // (each 0.3 s apart, more than the interval).
    for step in 1...10 {
      fake.time = Double(step) * 0.3
      progress.advance()
    }
    progress.finish()
    let clear = "\r\u{1B}[K"
    #expect(fake.written == (2...10).map { "\(clear)building \($0)/10" } + [clear])
  }

  @Test func drawingsAreAtLeastAnIntervalApart() {
    let fake = FakeOutput()
    let progress = ProgressLine("work", total: 1000, output: fake.output(isTerminal: true))
    // 1000 steps a tenth of an interval apart, from one second in: 100 intervals.
    for step in 1...1000 {
      fake.time = 1 + Double(step) * ProgressLine.interval / 10
      progress.advance()
    }
    #expect(zip(fake.writtenAt, fake.writtenAt.dropFirst()).allSatisfy { $1 - $0 >= ProgressLine.interval })
    #expect(fake.written.count >= 90 && fake.written.count <= 100, "\(fake.written.count) drawings")
  }

  @Test func uncountedWorkShowsItsSecondsAndStopsAtTheEnd() {
    let fake = FakeOutput()
    let progress = ProgressLine("building the program", total: nil, output: fake.output(isTerminal: true))
    for time in [0.2, 1.0, 2.7] {
      fake.time = time
      progress.advance(by: 0)
    }
    progress.finish()
    fake.time = 4
    progress.advance(by: 0)
    let clear = "\r\u{1B}[K"
    #expect(fake.written == ["\(clear)building the program 1 s", "\(clear)building the program 2 s", clear])
  }

  @Test func duringRunsTheBodyQuietlyOffATerminal() {
    let fake = FakeOutput()
    let result = ProgressLine.during("work", output: fake.output(isTerminal: false)) { _ in 6 * 7 }
    #expect(result == 42 && fake.written.isEmpty)
  }

  @Test func duringShowsTheCountOfWorkDoneOnAnyThread() {
    let written = Locked<[String]>([]), time = Locked(0.0)
    let output = ProgressOutput(
      isTerminal: true, write: { text in written.withLock { $0.append(text) } }, now: { time.withLock { $0 } })
    let result = ProgressLine.during("building 3 kernels for opencl:0", total: 3, output: output) { progress in
      for step in 1...3 {
        time.withLock { $0 = Double(step) }
        progress.advance()
      }
      return 42
    }
    let clear = "\r\u{1B}[K"
    let lines = written.withLock { $0 }
    #expect(result == 42)
    #expect(lines.dropLast().allSatisfy { $0.hasPrefix("\(clear)building 3 kernels for opencl:0 ") }, "\(lines)")
    #expect(lines.last == clear, "erased at the end")
    let counts = lines.dropLast().compactMap { $0.split(separator: " ").last.map(String.init) }
    #expect(!counts.isEmpty && counts == counts.sorted(), "\(lines)")
    #expect(counts.allSatisfy { ["0/3", "1/3", "2/3", "3/3"].contains($0) }, "\(lines)")
  }
}

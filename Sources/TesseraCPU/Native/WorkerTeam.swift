import CTesseraSIMD
import Dispatch
import Foundation
import Synchronization

/// The persistent worker threads behind every ``CPUThreadPool``: one fewer than the cores (the
/// caller is the last one), started once, spinning briefly between jobs and sleeping after that.
///
/// A decode step of a small LLM is hundreds of kernels of tens of microseconds each; waking a
/// sleeping thread for each (what `DispatchQueue.concurrentPerform` does) costs as much as the
/// kernel, so workers keep watching for the next job for half a millisecond first.
///
/// One job runs at a time. The caller publishes it in one atomic word (job number, part count,
/// next unclaimed part); every participant, the caller included, claims parts with a
/// compare-and-exchange on that word, so a part runs exactly once and only while the caller
/// waits for the job; the caller returns when the finished count reaches the part count. A run
/// that finds the team busy (another thread's job, or a run nested inside a part) runs its parts
/// itself, one after another.
///
/// `@unchecked Sendable`: `body` is written only by the caller holding `busy`, before the releasing
/// store of `state` that publishes it, and read only by a participant that claimed a part of that
/// job through `state` (acquiring), while the caller still waits.
final class WorkerTeam: @unchecked Sendable {
  /// The team every pool uses.
  static let shared = WorkerTeam(workers: Swift.max(0, ProcessInfo.processInfo.activeProcessorCount - 1))

  /// Worker threads (not counting callers).
  let workers: Int
  private static let partBits = 24, partMask = (1 << 24) - 1
  /// How long a worker keeps polling for the next job before it sleeps: longer than the
  /// single-threaded steps between two parallel kernels of a decode step.
  private static let spinDuration = Duration.microseconds(500)
  /// Job number (bits 48…62), part count (24…47), next unclaimed part (0…23).
  private let state = Atomic<Int>(0)
  private let finished = Atomic<Int>(0)
  /// Workers taking part in the current job.
  private let helpers = Atomic<Int>(0)
  private let busy = Atomic<Bool>(false)
  private let sleepers = Atomic<Int>(0)
  private let wake = DispatchSemaphore(value: 0)
  private var body: (@Sendable (Int) -> Void)?
  private var jobNumber = 0

  private init(workers: Int) {
    self.workers = workers
    for index in 0..<workers {
      let thread = Thread { [unowned self] in self.work(index: index) }
      thread.name = "tessera-cpu-\(index + 1)"
      thread.start()
    }
  }

  /// Runs `body(part)` for every part in `0..<parts` on the caller and up to `threads - 1`
  /// workers; returns when all are done.
  func run(parts: Int, threads: Int, _ body: @Sendable (Int) -> Void) {
    guard parts > 1, threads > 1, workers > 0, parts <= Self.partMask,
      busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
    else {
      for part in 0..<parts { body(part) }
      return
    }
    withoutActuallyEscaping(body) { escapable in
      self.body = escapable
      jobNumber = (jobNumber + 1) & 0x7FFF
      helpers.store(Swift.min(threads - 1, workers), ordering: .relaxed)
      finished.store(0, ordering: .relaxed)
      state.store(jobNumber << 48 | parts << Self.partBits, ordering: .releasing)
      for _ in 0..<sleepers.exchange(0, ordering: .acquiringAndReleasing) { wake.signal() }
      claimParts()
      while finished.load(ordering: .acquiring) < parts { tessera_spin_pause() }
      self.body = nil
    }
    busy.store(false, ordering: .releasing)
  }

  /// Claims and runs parts of the published job until none is left.
  private func claimParts() {
    while true {
      let current = state.load(ordering: .acquiring)
      let next = current & Self.partMask, parts = (current >> Self.partBits) & Self.partMask
      guard next < parts else { return }
      if state.compareExchange(expected: current, desired: current + 1, ordering: .acquiringAndReleasing).exchanged {
        runPart(next)
        finished.add(1, ordering: .releasing)
      }
    }
  }

  /// Calls the job's body; its reference to the closure ends before the part is counted.
  @inline(never)
  private func runPart(_ part: Int) {
    body?(part)
  }

  /// A worker's life: watch for the next job, sleep when none comes, help with it.
  private func work(index: Int) {
    var seen = state.load(ordering: .acquiring) >> 48
    while true {
      var polls = 0
      var deadline: ContinuousClock.Instant?
      while state.load(ordering: .acquiring) >> 48 == seen {
        // Each poll pauses (tens of cycles on AMD, about 140 on recent Intel), and the clock is
        // read every 256 polls: a spinning worker neither starves an SMT sibling nor spends its
        // time in clock_gettime (6% of a decode profile before).
        tessera_spin_pause()
        polls &+= 1
        guard polls & 255 == 0 else { continue }
        let now = ContinuousClock.now
        guard let end = deadline else {
          deadline = now + Self.spinDuration
          continue
        }
        guard now >= end else { continue }
        sleepers.add(1, ordering: .acquiringAndReleasing)
        if state.load(ordering: .acquiring) >> 48 == seen { wake.wait() }
        deadline = nil
      }
      seen = state.load(ordering: .acquiring) >> 48
      if index < helpers.load(ordering: .acquiring) { claimParts() }
    }
  }
}

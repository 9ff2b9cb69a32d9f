import TesseraIR
import TesseraRuntime

/// A ``VulkanExecutable`` on a device whose compute queue writes timestamps, offered as a
/// ``ProfilingExecutable`` so `tessera run --profile` prints each dispatch's device time. On a
/// device without timestamps the executable is handed out bare, and profiling says the device
/// does not time kernels instead of reporting zeros.
struct VulkanProfilingExecutable: ProfilingExecutable {
  let executable: VulkanExecutable

  func execute(_ inputs: [Tensor]) throws(DeviceError) -> [Tensor] {
    try executable.execute(inputs)
  }

  func executeProfiled(_ inputs: [Tensor]) throws(DeviceError) -> (results: [Tensor], kernels: [KernelTiming]) {
    try executable.executeTimed(inputs)
  }
}

/// The emulated NPU target: an Ascend-class ISA, assembler, emulator and cycle model.
///
/// It arrives with its own issue; until then `tessera devices` does not list an `npu` device.
public enum TesseraNPU {}

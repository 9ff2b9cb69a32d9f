import TesseraIR

/// Sixteen-lane OpenCL C decoders of the formats a Q4_K_M file is made of besides q8_0 (q5_0,
/// q4_k, q5_k, q6_k), written by hand: each reads its sixteen codes with one or two `vload16`
/// and its scale (and minimum) once, where the decoders built from sixteen scalar decodes read
/// every field sixteen times (SmolLM2 Q4_K_M on PoCL decoded at 9.4 tok/s against Q4_1's 88).
/// Sixteen elements from a multiple of 16 lie in one sub-block of one scale, so one scale serves
/// them; the arithmetic is the description's (``BlockFormat``), which the device tests check.
/// q4_k's and q5_k's scale and minimum, adjacent halves, are one load and one conversion
/// (``tessera_half2_at``).
enum OpenCLKQuantDecoders {
  /// The decoders, by dtype.
  static let sixteens: [DType: String] = [
    .q5_0: """
    float16 tessera_dequant16_q5_0(__global const uchar* blocks, int index) {
      __global const uchar* block = blocks + (index >> 5) * 22;
      int j = index & 16;
      float d = tessera_half_bits((ushort)(block[0] | (block[1] << 8)));
      uint qh = (uint)block[2] | ((uint)block[3] << 8) | ((uint)block[4] << 16) | ((uint)block[5] << 24);
      uchar16 bytes = vload16(0, block + 6);
      int16 low = convert_int16(j ? (bytes >> (uchar16)4) : (bytes & (uchar16)15));
      uint16 high = ((uint16)(qh >> j) >> (uint16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)) & (uint16)1;
      return convert_float16((low | (convert_int16(high) << 4)) - 16) * d;
    }
    """,
    .q4_k: """
    float16 tessera_dequant16_q4_k(__global const uchar* blocks, int index) {
      __global const uchar* block = blocks + (index >> 8) * 144;
      int e = index & 255, j = e >> 5;
      float2 dmins = tessera_half2_at(block);
      float d = dmins.x, dmin = dmins.y;
      int2 sm = tessera_k_scale_min(block + 4, j);
      uchar16 bytes = vload16(0, block + 16 + ((e >> 6) << 5) + (e & 31));
      uchar16 q = (j & 1) ? (bytes >> (uchar16)4) : (bytes & (uchar16)15);
      return (d * (float)sm.x) * convert_float16(q) - dmin * (float)sm.y;
    }
    """,
    .q5_k: """
    float16 tessera_dequant16_q5_k(__global const uchar* blocks, int index) {
      __global const uchar* block = blocks + (index >> 8) * 176;
      int e = index & 255, j = e >> 5;
      float2 dmins = tessera_half2_at(block);
      float d = dmins.x, dmin = dmins.y;
      int2 sm = tessera_k_scale_min(block + 4, j);
      uchar16 bytes = vload16(0, block + 48 + ((e >> 6) << 5) + (e & 31));
      uchar16 low = (j & 1) ? (bytes >> (uchar16)4) : (bytes & (uchar16)15);
      uchar16 high = (vload16(0, block + 16 + (e & 31)) >> (uchar16)j) & (uchar16)1;
      return (d * (float)sm.x) * convert_float16(low | (high << (uchar16)4)) - dmin * (float)sm.y;
    }
    """,
    .q6_k: """
    float16 tessera_dequant16_q6_k(__global const uchar* blocks, int index) {
      __global const uchar* block = blocks + (index >> 8) * 210;
      int e = index & 255, quarter = (e >> 5) & 3, l = e & 31;
      float d = tessera_half_bits((ushort)(block[208] | (block[209] << 8)));
      float scale = (float)as_char(block[192 + (e >> 4)]);
      uchar16 lowBytes = vload16(0, block + ((e >> 7) << 6) + ((quarter & 1) << 5) + l);
      uchar16 low = (quarter >> 1) ? (lowBytes >> (uchar16)4) : (lowBytes & (uchar16)15);
      uchar16 high = (vload16(0, block + 128 + ((e >> 7) << 5) + l) >> (uchar16)(quarter << 1)) & (uchar16)3;
      return (d * scale) * convert_float16(convert_int16(low | (high << (uchar16)4)) - 32);
    }
    """,
  ]

  /// The 6-bit scale and minimum of sub-block `j` (0…7) of q4_k and q5_k from their 12 packed
  /// bytes: for `j < 4` the low 6 bits of bytes `j` and `j + 4`; after, a nibble of byte `j + 4`
  /// with the top two bits of bytes `j - 4` and `j`. Emitted once when either format is used.
  static let scaleAndMinimum = """
    int2 tessera_k_scale_min(__global const uchar* s, int j) {
      return j < 4 ? (int2)(s[j] & 63, s[j + 4] & 63)
                   : (int2)((s[j + 4] & 15) | ((s[j - 4] >> 6) << 4), (s[j + 4] >> 4) | ((s[j] >> 6) << 4));
    }

    """

  /// The helpers the decoders of `dtypes` call.
  static func helpers(for dtypes: Set<DType>) -> String {
    dtypes.contains(.q4_k) || dtypes.contains(.q5_k) ? scaleAndMinimum : ""
  }
}

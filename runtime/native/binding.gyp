{
  "targets": [
    {
      "target_name": "moe_native",
      "sources": [
        "addon.cc",
        "bind_util.cc",
        "bind_codec.cc",
        "bind_quant.cc",
        "bind_gemm.cc",
        "bind_ops.cc",
        "bind_routing.cc",
        "bind_attention.cc",
        "bind_train.cc",
        "kernels/cpu.cc",
        "kernels/fp8.cc",
        "kernels/fp8_ref.cc",
        "kernels/quant.cc",
        "kernels/gemm.cc",
        "kernels/fp8_linear.cc",
        "kernels/ops.cc",
        "kernels/routing.cc",
        "kernels/peak.cc",
        "kernels/mla.cc",
        "kernels/mla_ref.cc",
        "kernels/serve_ops.cc",
        "kernels/train_ops.cc"
      ],
      "include_dirs": ["<!(node -e \"require('nan')\")", "kernels"],
      "cflags!": ["-fno-exceptions", "-O2"],
      "cflags_cc!": ["-std=gnu++17", "-std=gnu++20", "-fno-exceptions", "-O2"],
      "cflags_cc": ["-std=c++20", "-O3", "-fexceptions"],
      "cflags": ["-O3"],
      "dependencies": ["moe_amx", "moe_avx512", "moe_avx512bf16", "moe_avx2"]
    },
    {
      "target_name": "moe_amx",
      "type": "static_library",
      "sources": ["kernels/gemm_amx.cc"],
      "include_dirs": ["kernels"],
      "cflags!": ["-O2"],
      "cflags_cc!": ["-std=gnu++17", "-std=gnu++20", "-O2"],
      "cflags_cc": ["-std=c++20", "-O3", "-fPIC", "-mamx-tile", "-mamx-bf16", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mfma"]
    },
    {
      "target_name": "moe_avx512",
      "type": "static_library",
      "sources": ["kernels/fp8_avx512.cc", "kernels/gemm_avx512.cc", "kernels/gemm_pack_avx512.cc", "kernels/mla_avx512.cc", "kernels/serve_ops_avx512.cc", "kernels/train_ops_avx512.cc"],
      "include_dirs": ["kernels"],
      "cflags!": ["-O2"],
      "cflags_cc!": ["-std=gnu++17", "-std=gnu++20", "-O2"],
      "cflags_cc": ["-std=c++20", "-O3", "-fPIC", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mfma"]
    },
    {
      "target_name": "moe_avx512bf16",
      "type": "static_library",
      "sources": ["kernels/gemm_avx512bf16.cc"],
      "include_dirs": ["kernels"],
      "cflags!": ["-O2"],
      "cflags_cc!": ["-std=gnu++17", "-std=gnu++20", "-O2"],
      "cflags_cc": ["-std=c++20", "-O3", "-fPIC", "-mavx512f", "-mavx512bw", "-mavx512vl", "-mavx512bf16", "-mfma"]
    },
    {
      "target_name": "moe_avx2",
      "type": "static_library",
      "sources": ["kernels/fp8_avx2.cc", "kernels/gemm_avx2.cc", "kernels/mla_avx2.cc", "kernels/serve_ops_avx2.cc", "kernels/train_ops_avx2.cc"],
      "include_dirs": ["kernels"],
      "cflags!": ["-O2"],
      "cflags_cc!": ["-std=gnu++17", "-std=gnu++20", "-O2"],
      "cflags_cc": ["-std=c++20", "-O3", "-fPIC", "-mavx2", "-mfma", "-mf16c"]
    }
  ]
}

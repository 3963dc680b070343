{
  "targets": [
    {
      "target_name": "moe_collectives",
      "sources": [
        "src/addon.cc",
        "src/bind_util.cc",
        "src/bind_group.cc",
        "src/bind_p2p.cc",
        "src/bind_collectives.cc",
        "src/group.cc",
        "src/socket_store.cc"
      ],
      "include_dirs": ["<!(node -e \"require('nan')\")", "src"],
      "cflags!": ["-fno-exceptions", "-fno-rtti", "-O2"],
      "cflags_cc!": ["-std=gnu++17", "-std=gnu++20", "-fno-exceptions", "-fno-rtti", "-O2"],
      "cflags_cc": ["-std=c++20", "-O3", "-fexceptions", "-frtti"],
      "libraries": ["-lgloo"]
    }
  ]
}

{
  "targets": [
    {
      "target_name": "llmts_mmap",
      "sources": ["native/mmap.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}

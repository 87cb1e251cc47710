{
  "targets": [
    {
      "target_name": "unroll_blas",
      "sources": ["blas.c"],
      "libraries": ["-lopenblas"],
      "cflags": ["-O2"]
    }
  ]
}

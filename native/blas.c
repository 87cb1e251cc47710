/* The kernel seam's three products on OpenBLAS (cblas_dgemm), for Node through N-API.
 * gemm(op, M, N, K, A, aOff, lda, B, bOff, ldb, C, cOff, ldc): C += op(A)·op(B) on strided row-major
 * views of Float64Arrays (plain or shared memory), op 0 = NN, 1 = NT, 2 = TN. Offsets and leading
 * dimensions are in elements. The JS side checks the views' bounds before calling. */
#include <cblas.h>
#include <node_api.h>
#include <stdint.h>

extern void openblas_set_num_threads(int);

static int f64_data(napi_env env, napi_value v, double **out, size_t *len) {
  napi_typedarray_type type;
  void *data;
  if (napi_get_typedarray_info(env, v, &type, len, &data, NULL, NULL) != napi_ok || type != napi_float64_array) return 0;
  *out = (double *)data;
  return 1;
}

static napi_value gemm(napi_env env, napi_callback_info info) {
  size_t argc = 13;
  napi_value argv[13];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 13) {
    napi_throw_type_error(env, NULL, "gemm takes 13 arguments");
    return NULL;
  }
  int32_t op, M, N, K, aOff, lda, bOff, ldb, cOff, ldc;
  double *A, *B, *C;
  size_t la, lb, lc;
  napi_get_value_int32(env, argv[0], &op);
  napi_get_value_int32(env, argv[1], &M);
  napi_get_value_int32(env, argv[2], &N);
  napi_get_value_int32(env, argv[3], &K);
  napi_get_value_int32(env, argv[5], &aOff);
  napi_get_value_int32(env, argv[6], &lda);
  napi_get_value_int32(env, argv[8], &bOff);
  napi_get_value_int32(env, argv[9], &ldb);
  napi_get_value_int32(env, argv[11], &cOff);
  napi_get_value_int32(env, argv[12], &ldc);
  if (!f64_data(env, argv[4], &A, &la) || !f64_data(env, argv[7], &B, &lb) || !f64_data(env, argv[10], &C, &lc)) {
    napi_throw_type_error(env, NULL, "A, B and C must be Float64Arrays");
    return NULL;
  }
  if (M <= 0 || N <= 0 || K <= 0) return NULL;
  enum CBLAS_TRANSPOSE ta = op == 2 ? CblasTrans : CblasNoTrans;
  enum CBLAS_TRANSPOSE tb = op == 1 ? CblasTrans : CblasNoTrans;
  cblas_dgemm(CblasRowMajor, ta, tb, M, N, K, 1.0, A + aOff, lda, B + bOff, ldb, 1.0, C + cOff, ldc);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  /* one thread per call: parallelism comes from the worker pool, as PyTorch's bench is one thread */
  openblas_set_num_threads(1);
  napi_value fn;
  napi_create_function(env, "gemm", NAPI_AUTO_LENGTH, gemm, NULL, &fn);
  napi_set_named_property(env, exports, "gemm", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

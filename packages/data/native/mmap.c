/*
 * llmts_mmap: map a window of a file read-only into an external ArrayBuffer (Node-API).
 *
 *   map(fd, offset, length) -> ArrayBuffer   offset must be a multiple of pageSize()
 *   pageSize() -> number
 *
 * The mapping is released (munmap) when the ArrayBuffer is garbage collected. Pages are shared
 * with the page cache, so they count as file-backed memory, which the kernel can reclaim.
 */
#include <node_api.h>
#include <sys/mman.h>
#include <unistd.h>
#include <errno.h>
#include <string.h>
#include <stdio.h>

static void unmap_buffer(napi_env env, void *data, void *hint) {
  (void)env;
  munmap(data, (size_t)(uintptr_t)hint);
}

static napi_value throw_error(napi_env env, const char *what) {
  char message[256];
  snprintf(message, sizeof message, "llmts_mmap: %s: %s", what, strerror(errno));
  napi_throw_error(env, NULL, message);
  return NULL;
}

static napi_value map_file(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc != 3) {
    napi_throw_type_error(env, NULL, "llmts_mmap: map(fd, offset, length) takes 3 arguments");
    return NULL;
  }
  int32_t fd;
  double offset, length;
  if (napi_get_value_int32(env, argv[0], &fd) != napi_ok || napi_get_value_double(env, argv[1], &offset) != napi_ok ||
      napi_get_value_double(env, argv[2], &length) != napi_ok || offset < 0 || length <= 0) {
    napi_throw_type_error(env, NULL, "llmts_mmap: map(fd, offset, length) needs a file descriptor, a non-negative offset and a positive length");
    return NULL;
  }
  long page = sysconf(_SC_PAGESIZE);
  if ((long long)offset % page != 0) {
    napi_throw_range_error(env, NULL, "llmts_mmap: offset must be a multiple of the page size");
    return NULL;
  }
  void *p = mmap(NULL, (size_t)length, PROT_READ, MAP_SHARED, fd, (off_t)offset);
  if (p == MAP_FAILED) return throw_error(env, "mmap failed");
  madvise(p, (size_t)length, MADV_RANDOM);
  napi_value buffer;
  napi_status status = napi_create_external_arraybuffer(env, p, (size_t)length, unmap_buffer, (void *)(uintptr_t)(size_t)length, &buffer);
  if (status != napi_ok) {
    munmap(p, (size_t)length);
    napi_throw_error(env, NULL, "llmts_mmap: could not wrap the mapping in an ArrayBuffer");
    return NULL;
  }
  return buffer;
}

static napi_value page_size(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_double(env, (double)sysconf(_SC_PAGESIZE), &v);
  return v;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
    {"map", NULL, map_file, NULL, NULL, NULL, napi_default, NULL},
    {"pageSize", NULL, page_size, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

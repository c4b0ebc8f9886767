/*
 * nsbox-flock.node: a Node-API addon with one function, flock(fd, op), which
 * returns 0 or -errno. The state lock is taken by most verbs that change
 * state, and loading ffi-rs for it costs ~4 ms of such a CLI call; this
 * loads in a fraction of one. TypeScript takes the lock with LOCK_NB here
 * and waits for a held one through ffi-rs, off the event loop.
 *
 * Node-API is a stable C ABI that the node binary exports, so its few
 * declarations are written out here: the build needs no Node headers.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/file.h>

typedef struct napi_env__ *napi_env;
typedef struct napi_value__ *napi_value;
typedef struct napi_callback_info__ *napi_callback_info;
typedef int napi_status; /* napi_ok is 0 */
typedef napi_value (*napi_callback)(napi_env env, napi_callback_info info);

napi_status napi_get_cb_info(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv, napi_value *this_arg, void **data);
napi_status napi_get_value_int32(napi_env env, napi_value value, int32_t *result);
napi_status napi_create_int32(napi_env env, int32_t value, napi_value *result);
napi_status napi_create_function(napi_env env, const char *utf8name, size_t length, napi_callback cb, void *data, napi_value *result);
napi_status napi_set_named_property(napi_env env, napi_value object, const char *utf8name, napi_value value);
napi_value napi_register_module_v1(napi_env env, napi_value exports);

static napi_value js_flock(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], result;
  int32_t fd = -1, op = 0, rc;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != 0 || argc != 2 || napi_get_value_int32(env, argv[0], &fd) != 0 ||
      napi_get_value_int32(env, argv[1], &op) != 0)
    rc = -EINVAL;
  else if (op != LOCK_UN && !(op & LOCK_NB))
    rc = -EINVAL; /* a wait here would stop the event loop */
  else {
    while ((rc = flock(fd, op)) < 0 && errno == EINTR) {
    }
    if (rc < 0)
      rc = -errno;
  }
  if (napi_create_int32(env, rc, &result) != 0)
    return NULL;
  return result;
}

napi_value napi_register_module_v1(napi_env env, napi_value exports) {
  napi_value fn;
  if (napi_create_function(env, "flock", 5, js_flock, NULL, &fn) != 0 || napi_set_named_property(env, exports, "flock", fn) != 0)
    return NULL;
  return exports;
}

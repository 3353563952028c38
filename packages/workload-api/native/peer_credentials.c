// SO_PEERCRED for Node: the uid, gid and pid of the process at the other end of a connected unix
// socket, read by the kernel at connect() time (so the peer cannot forge them). Node exposes no
// such call; this is the whole addon. Node-API only, so one build serves every Node version.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <node_api.h>

static napi_value throw_errno(napi_env env, const char *what, int err) {
  char message[256];
  snprintf(message, sizeof message, "%s: %s", what, strerror(err));
  napi_throw_error(env, "ERR_PEER_CREDENTIALS", message);
  return NULL;
}

static napi_value set_number(napi_env env, napi_value object, const char *name, double value) {
  napi_value number;
  napi_create_double(env, value, &number);
  napi_set_named_property(env, object, name, number);
  return object;
}

// peerCredentials(fd: number): { pid, uid, gid }
static napi_value peer_credentials(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t fd;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, NULL, "peerCredentials(fd): fd must be a non-negative integer");
    return NULL;
  }
#ifdef SO_PEERCRED
  struct ucred credentials;
  socklen_t length = sizeof credentials;
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) != 0)
    return throw_errno(env, "getsockopt(SO_PEERCRED)", errno);
  napi_value result;
  napi_create_object(env, &result);
  set_number(env, result, "pid", credentials.pid);
  set_number(env, result, "uid", credentials.uid);
  set_number(env, result, "gid", credentials.gid);
  return result;
#else
  return throw_errno(env, "SO_PEERCRED is not available on this platform", ENOSYS);
#endif
}

static napi_value init(napi_env env, napi_value exports) {
  napi_value fn;
  napi_create_function(env, "peerCredentials", NAPI_AUTO_LENGTH, peer_credentials, NULL, &fn);
  napi_set_named_property(env, exports, "peerCredentials", fn);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)

/* The C side of sony-pm-alt's native shim.
 *
 * The shim loads the patched ptp2 camlib (the file libgphoto2 loads from CAMLIBS, so both
 * share one copy and its registry) and forwards to the SPA functions it exports; see
 * vendor/libgphoto2-patches/. It keeps its own reference to the camlib for the life of the
 * process: libgphoto2 unloads camlibs after use, and the registry would go with them.
 * Call everything from the thread that opens the camera.
 */
#ifndef SPA_SHIM_H
#define SPA_SHIM_H

#include "spa_api.h" /* SPA_HOOK_*, SPA_PHASE_* */

/* Load CAMLIB_PATH and resolve its SPA functions. 0 on success; else -1 and ERROR. */
int spa_shim_load(const char *camlib_path, char *error, int error_len);

int spa_shim_identity_set(const char *port_path, const unsigned char *guid, const char *name);
int spa_shim_last_init_fail(const char *port_path);
/* ENABLE != 0 routes the session hooks of PORT_PATH to Python (spa_python_hook). */
int spa_shim_hooks_set(const char *port_path, int enable);
void *spa_shim_camera_params(void *camera);
unsigned int spa_shim_transaction(void *params, unsigned int code, int nparam,
                                  const unsigned int *param, int phase,
                                  const unsigned char *out, unsigned long long outlen,
                                  unsigned char **in, unsigned long long *inlen,
                                  unsigned int *resp_param, int *resp_nparam);
void spa_shim_free(void *p);

#endif

/* The one declaration of the SPA constants shared by the patched ptp2 camlib, the cffi shim
 * and Python. build.py copies this file into camlibs/ptp2/ of the libgphoto2 tree, where
 * ptp.h includes it (patch 0001); spa_shim.h includes it; cffi reads it as the head of the
 * shim's cdef, so sony_pm_alt.native takes the values from the compiled extension.
 * Only #define lines with integer values: cffi's cdef parser reads this file as it is.
 */
#define SPA_HOOK_START 0
#define SPA_HOOK_END 1
#define SPA_PHASE_NONE 0
#define SPA_PHASE_OUT 1
#define SPA_PHASE_IN 2
/* spa_shim_transaction's result when the camlib is not loaded: not a PTP code (those are
 * 0x2001 and up, libgphoto2's PTP_ERROR_* 0x02F8-0x02FF), so it is never read as an answer. */
#define SPA_SHIM_NOT_LOADED 0

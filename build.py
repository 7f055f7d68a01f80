"""Build the native layer: a patched libgphoto2 ptp2 camlib plus the cffi shim.

Not built yet: this arrives with the native-layer issue. The plan, so that ``make build`` says
what it will do:

1. Read the libgphoto2 version that python-gphoto2 loads (2.6.1 bundles 2.5.31).
2. Fetch exactly that Debian source package with apt into a private apt state directory
   (or take ``--libgphoto2-source DIR|TARBALL``).
3. Apply ``vendor/libgphoto2-patches/series``, build only the ptp2 camlib, build the cffi
   extension from ``csrc/``, cache both outside the repository keyed by version and patch hash.

Until then the project runs on python-gphoto2's own camlib.
"""

from __future__ import annotations

import sys


def main() -> int:
    print(
        "build.py: the native layer (patched ptp2 camlib + cffi shim) is not part of this "
        "version yet; nothing to build. python-gphoto2's bundled camlib is used."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

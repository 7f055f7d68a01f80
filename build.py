"""Build the native layer: the patched libgphoto2 ptp2 camlib and the cffi shim.

    python build.py [--libgphoto2-source DIR|TARBALL] [--cache-dir DIR] [--force]

The wheel build (setup.py) runs the same steps through :func:`build_into`;
``SONY_PM_ALT_LIBGPHOTO2_SOURCE`` gives it the source as ``--libgphoto2-source`` does.

1. Read the libgphoto2 version python-gphoto2 loads (the pinned 2.6.1 bundles 2.5.31).
2. Obtain exactly that source: the Debian source package, fetched with apt into a private
   apt state (the suite is found by version; the mirror is the machine's own configured
   Debian archive; the system's apt configuration and lists are never touched), or
   ``--libgphoto2-source``.
3. Copy ``csrc/spa_api.h`` (the one declaration of the SPA constants) into the tree, apply
   ``vendor/libgphoto2-patches/series``, build only the ptp2 camlib, build the cffi extension
   from ``csrc/``.
4. Cache the result outside the repository, keyed by (libgphoto2 version, hash of the patches,
   csrc and this file, the Python ABI); a cached build is installed in seconds. The cache also
   keeps libgphoto2's license text (LGPL-2.1) and a note of the exact source and its sha256.
5. Install into the package (``sony_pm_alt/_native/``), where ``sony_pm_alt.native`` finds it.

Every failure ends with one line saying what to install or which flag to use (exit code 2).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PATCHES = ROOT / "vendor" / "libgphoto2-patches"
CSRC = ROOT / "csrc"
EXTENSION = "sony_pm_alt._native._spa_shim"
API_HEADER = "spa_api.h"  # csrc/ → camlibs/ptp2/ of the libgphoto2 tree
SOURCE_ENV = "SONY_PM_ALT_LIBGPHOTO2_SOURCE"
# Shipped next to the camlib: libgphoto2's license and where exactly it was built from.
LICENSE_FILE = "COPYING.libgphoto2"
SOURCE_NOTE = "SOURCE.libgphoto2"
CONFIGURE_FLAGS = [
    "--with-camlibs=ptp2",
    "--disable-internal-docs",
    "--disable-docs",
    "--disable-nls",
    "--without-jpeg",
    "--with-libxml-2.0=no",
    "--with-libcurl=no",
    "--with-gdlib=no",
    "--with-libexif=no",
]
# Suites asked for the source package, besides the machine's own. The version decides which
# one is used, not the name.
EXTRA_SUITES = ["oldstable", "stable", "testing", "unstable", "bookworm", "trixie", "sid"]
# apt.conf.d on Debian runs hooks after `apt-get update` (appstream, PackageKit) that would
# write outside the private state; a -c file can clear them, -o options cannot.
APT_CONF = "#clear APT::Update::Post-Invoke-Success;\n#clear APT::Update::Post-Invoke;\n"


class BuildError(Exception):
    """A failure with the one line that tells the user what to do."""


@dataclass(frozen=True)
class Source:
    tree: Path
    origin: str  # e.g. "Debian libgphoto2 2.5.31-4 (trixie)" or the path given
    tarball: Path | None = None  # None when a source folder was given


def log(message: str) -> None:
    print(f"build.py: {message}", flush=True)


def run(argv: list[str], *, cwd: Path | None = None, what: str, hint: str) -> str:
    try:
        result = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise BuildError(f"{what}: {argv[0]} not found; {hint}") from None
    if result.returncode != 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-12:]
        sys.stderr.write("\n".join(tail) + "\n")
        raise BuildError(f"{what} failed (exit {result.returncode}); {hint}")
    return result.stdout


# ---------------------------------------------------------------------------- versions and keys


def loaded_libgphoto2_version() -> str:
    try:
        import gphoto2 as gp
    except ImportError:
        raise BuildError("python-gphoto2 is not installed; run `make venv` first") from None
    version = str(gp.gp_library_version(gp.GP_VERSION_SHORT)[0])
    if not re.fullmatch(r"\d+\.\d+\.\d+(\.\d+)?", version):
        raise BuildError(f"cannot read the libgphoto2 version python-gphoto2 loads ({version!r})")
    return version


def inputs_hash() -> str:
    digest = hashlib.sha256()
    files = [PATCHES / "series", *sorted(PATCHES.glob("*.patch")), *sorted(CSRC.iterdir())]
    for path in [*files, Path(__file__).resolve()]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(str(sysconfig.get_config_var("SOABI")).encode())  # the cffi extension's ABI
    return digest.hexdigest()[:16]


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "sony-pm-alt" / "native"


# ---------------------------------------------------------------------------- source via apt


def debian_mirror() -> tuple[str, list[str], str]:
    """(archive URI, configured suites, keyring) from the machine's own Debian apt sources."""
    entries: list[tuple[str, list[str], str]] = []
    one_line = re.compile(
        r"^deb(?:-src)?\s+(?:\[(?P<opts>[^\]]*)\]\s+)?(?P<uri>\S+)\s+(?P<suite>\S+)"
    )
    for path in sorted(Path("/etc/apt/sources.list.d").glob("*.sources")):
        for stanza in path.read_text().split("\n\n"):
            fields: dict[str, str] = {}
            for line in stanza.splitlines():
                if ":" in line and not line.startswith("#"):
                    key, _, value = line.partition(":")
                    fields[key.strip().lower()] = value.strip()
            if "uris" in fields and fields.get("enabled", "yes").lower() != "no":
                keyring = fields.get("signed-by", "")
                entries += [
                    (u, fields.get("suites", "").split(), keyring) for u in fields["uris"].split()
                ]
    for path in [
        Path("/etc/apt/sources.list"),
        *sorted(Path("/etc/apt/sources.list.d").glob("*.list")),
    ]:
        if path.is_file():
            for line in path.read_text().splitlines():
                if m := one_line.match(line.strip()):
                    signed = re.search(r"signed-by=(\S+)", m["opts"] or "")
                    entries.append((m["uri"], [m["suite"]], signed[1] if signed else ""))
    for uri, suites, keyring in entries:
        # The security and debug archives carry no libgphoto2 source package.
        skip = ("-security", "-debug")
        if not any(s.endswith(skip) for s in suites) and "debian" in uri and "debug" not in uri:
            return uri.rstrip("/"), suites, keyring
    raise BuildError(
        "no Debian archive in /etc/apt/sources*; pass --libgphoto2-source DIR|TARBALL "
        "(the libgphoto2 release tarball of the version python-gphoto2 loads)"
    )


def fetch_debian_source(version: str, work: Path) -> tuple[Path, str]:
    if shutil.which("apt-get") is None:
        raise BuildError("apt-get not found; pass --libgphoto2-source DIR|TARBALL instead")
    uri, suites, keyring = debian_mirror()
    keyring = keyring or "/usr/share/keyrings/debian-archive-keyring.gpg"
    apt = work / "apt"
    for sub in ("lists/partial", "cache/archives/partial"):
        (apt / sub).mkdir(parents=True, exist_ok=True)
    wanted = list(dict.fromkeys([s for s in suites if "-" not in s] + EXTRA_SUITES))
    (apt / "sources.list").write_text(
        "".join(f"deb-src [signed-by={keyring}] {uri} {suite} main\n" for suite in wanted)
    )
    (apt / "apt.conf").write_text(APT_CONF)
    options = [
        "-c",
        str(apt / "apt.conf"),
        "-o",
        f"Dir::Etc::SourceList={apt / 'sources.list'}",
        "-o",
        "Dir::Etc::SourceParts=/nonexistent",
        "-o",
        f"Dir::State::Lists={apt / 'lists'}",
        "-o",
        f"Dir::Cache={apt / 'cache'}",
        "-o",
        "APT::Sandbox::User=root",
    ]
    log(f"asking {uri} ({', '.join(wanted)}) for the libgphoto2 {version} source package")
    hint = "check network access to the Debian archive, or pass --libgphoto2-source"
    # A suite missing from the mirror only warns; apt-get update still exits 0.
    run(["apt-get", "-q", *options, "update"], what="apt-get update (private state)", hint=hint)
    madison = run(
        ["apt-cache", *options, "madison", "libgphoto2"], what="apt-cache madison", hint=hint
    )
    candidates = []
    for line in madison.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) == 3 and parts[2].endswith("Sources"):
            debian_version, suite = parts[1], parts[2].split()[1].split("/")[0]
            upstream = re.sub(r"-[^-]*$", "", re.sub(r"^\d+:", "", debian_version))
            if upstream == version:
                candidates.append((debian_version, suite))
    if not candidates:
        raise BuildError(
            f"the Debian archive has no libgphoto2 {version} source package in "
            f"{', '.join(wanted)}; pass --libgphoto2-source with the libgphoto2 {version} "
            "release tarball"
        )
    debian_version, suite = candidates[0]
    download = work / "download"
    download.mkdir(exist_ok=True)
    run(
        ["apt-get", "-q", *options, "source", "--download-only", f"libgphoto2={debian_version}"],
        cwd=download,
        what=f"apt-get source libgphoto2={debian_version}",
        hint=hint,
    )
    tarballs = sorted(download.glob(f"libgphoto2_{version}.orig.tar.*"))
    if not tarballs:
        raise BuildError(f"apt-get source gave no libgphoto2_{version}.orig tarball in {download}")
    return tarballs[0], f"Debian libgphoto2 {debian_version} ({suite})"


# ---------------------------------------------------------------------------- build steps


def debian_source(version: str, work: Path) -> tuple[Path, str]:
    """The Debian orig tarball, fetched once and kept beside the build cache: a rebuild after
    a patch change needs no network."""
    kept = work.parent / "sources"
    for origin_file in kept.glob(f"libgphoto2_{version}.orig.tar.*.origin"):
        tarball = origin_file.with_suffix("")
        if tarball.is_file():
            return tarball, origin_file.read_text().strip()
    tarball, origin = fetch_debian_source(version, work)
    kept.mkdir(parents=True, exist_ok=True)
    shutil.copy2(tarball, kept / tarball.name)
    (kept / f"{tarball.name}.origin").write_text(origin + "\n")
    return kept / tarball.name, origin


def unpack(tarball: Path, dest: Path) -> Path:
    with tarfile.open(tarball) as tar:
        tar.extractall(dest, filter="data")
    roots = [p for p in dest.iterdir() if p.is_dir()]
    if len(roots) != 1:
        raise BuildError(f"{tarball} does not unpack to one libgphoto2 source folder")
    return roots[0]


def tree_version(tree: Path) -> str:
    configure_ac = tree / "configure.ac"
    text = configure_ac.read_text(errors="replace") if configure_ac.is_file() else ""
    match = re.search(r"AC_INIT\(\[[^\]]*\],\s*\[([^\]]+)\]", text)
    if not match:
        raise BuildError(f"{tree} does not look like a libgphoto2 source tree (no configure.ac)")
    return match[1]


def obtain_source(version: str, given: Path | None, work: Path) -> Source:
    tarball: Path | None = None
    if given is not None:
        given = given.resolve()
        if given.is_dir():
            tree = work / "src"
            shutil.copytree(given, tree, symlinks=True)
        elif given.is_file():
            tree = unpack(given, work / "unpacked")
            tarball = given
        else:
            raise BuildError(f"--libgphoto2-source {given}: no such file or directory")
        origin = str(given)
    else:
        tarball, origin = debian_source(version, work)
        tree = unpack(tarball, work / "unpacked")
    found = tree_version(tree)
    if found != version:
        raise BuildError(
            f"the source is libgphoto2 {found}, but python-gphoto2 loads {version}; "
            f"give the libgphoto2 {version} source"
        )
    return Source(tree, origin, tarball)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def source_note(source: Source, version: str, patches: list[str]) -> str:
    if source.tarball is not None:
        what = f"tarball: {source.tarball.name}\nsha256: {sha256_of(source.tarball)}\n"
    else:
        what = "tarball: none (built from an unpacked source folder)\n"
    return (
        f"The camlib camlibs/ptp2.so was built from libgphoto2 {version} (LGPL-2.1-or-later, "
        f"see {LICENSE_FILE}) with sony-pm-alt's patches.\n"
        f"origin: {source.origin}\n{what}patches: {' '.join(patches)}\n"
        "The source and the patches: https://github.com/gphoto/libgphoto2 (tag v"
        f"{version}) and vendor/libgphoto2-patches/ of sony-pm-alt's sdist.\n"
    )


def add_api_header(tree: Path) -> None:
    """The patched ptp.h includes spa_api.h; it comes from csrc/, never from the patches."""
    shutil.copy2(CSRC / API_HEADER, tree / "camlibs" / "ptp2" / API_HEADER)


def apply_patches(tree: Path) -> list[str]:
    names = [n.strip() for n in (PATCHES / "series").read_text().splitlines()]
    names = [n for n in names if n and not n.startswith("#")]
    for name in names:
        run(
            ["patch", "-p1", "--batch", "--forward", "-i", str(PATCHES / name)],
            cwd=tree,
            what=f"applying {name}",
            hint="the patch does not fit this libgphoto2 source; it is made for 2.5.31",
        )
    return names


def build_camlib(tree: Path) -> Path:
    hint = "install the build tools: apt-get install build-essential pkg-config libltdl-dev"
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        raise BuildError(f"no C compiler; {hint}")
    log("configuring libgphoto2 (ptp2 camlib only)")
    run(["./configure", "-q", *CONFIGURE_FLAGS], cwd=tree, what="configure", hint=hint)
    jobs = f"-j{os.cpu_count() or 2}"
    for target in (["-C", "libgphoto2_port"], ["-C", "libgphoto2"], ["-C", "camlibs", "ptp2.la"]):
        log(f"make {' '.join(target)}")
        run(["make", "-s", jobs, *target], cwd=tree, what=f"make {' '.join(target)}", hint=hint)
    camlib = tree / "camlibs" / ".libs" / "ptp2.so"
    if not camlib.is_file():
        raise BuildError(f"the build produced no {camlib}; {hint}")
    return camlib


def build_extension(out: Path) -> Path:
    try:
        import cffi  # type: ignore[import-untyped]
    except ImportError:
        raise BuildError("cffi is not installed; run `make venv` first") from None
    builder = cffi.FFI()
    builder.cdef((CSRC / API_HEADER).read_text() + (CSRC / "spa_shim.cdef").read_text())
    builder.set_source(
        EXTENSION,
        '#include "spa_shim.h"',
        sources=[str(CSRC / "spa_shim.c")],
        include_dirs=[str(CSRC)],
        libraries=["dl"],
    )
    log("building the cffi shim")
    try:
        built = Path(builder.compile(tmpdir=str(out), verbose=False))
    except Exception as exc:  # distutils/setuptools raise several unrelated types
        raise BuildError(
            f"building the cffi shim failed ({exc}); install python3-dev and build-essential"
        ) from None
    return built


# ---------------------------------------------------------------------------- cache and install


def package_dir() -> Path:
    import sony_pm_alt

    return Path(sony_pm_alt.__file__).resolve().parent / "_native"


def install(cached: Path, dest: Path | None = None) -> Path:
    dest = dest or package_dir()
    shutil.rmtree(dest, ignore_errors=True)
    (dest / "camlibs").mkdir(parents=True)
    shutil.copy2(cached / "camlibs" / "ptp2.so", dest / "camlibs" / "ptp2.so")
    for ext in cached.glob("_spa_shim*.so"):
        shutil.copy2(ext, dest / ext.name)
    for name in ("build-info.json", LICENSE_FILE, SOURCE_NOTE):
        shutil.copy2(cached / name, dest / name)
    (dest / "__init__.py").write_text('"""Built by build.py; not in version control."""\n')
    return dest


def build_into(dest: Path) -> Path:
    """The wheel build's entry (setup.py): build or reuse the cached native layer and place it
    in ``dest`` (``<build_lib>/sony_pm_alt/_native``). Raises :class:`BuildError`."""
    given = os.environ.get(SOURCE_ENV)
    cached = build(
        loaded_libgphoto2_version(), Path(given) if given else None, default_cache_dir(), False
    )
    return install(cached, dest)


def build(version: str, source_arg: Path | None, cache_root: Path, force: bool) -> Path:
    key = f"{version}-{inputs_hash()}"
    cached = cache_root / key
    if source_arg is not None:  # a given source is checked even when a build is cached
        with tempfile.TemporaryDirectory(prefix="sony-pm-alt-check-") as tmp:
            obtain_source(version, source_arg, Path(tmp))
    if (cached / "build-info.json").is_file() and not force:
        log(f"using the cached build {cached}")
        return cached
    start = time.monotonic()
    cache_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sony-pm-alt-build-", dir=cache_root) as tmp:
        work = Path(tmp)
        source = obtain_source(version, source_arg, work)
        add_api_header(source.tree)
        patches = apply_patches(source.tree)
        camlib = build_camlib(source.tree)
        staging = work / "out"
        (staging / "camlibs").mkdir(parents=True)
        shutil.copy2(camlib, staging / "camlibs" / "ptp2.so")
        extension = build_extension(work / "cffi")
        shutil.copy2(extension, staging / extension.name)
        shutil.copy2(source.tree / "COPYING", staging / LICENSE_FILE)
        (staging / SOURCE_NOTE).write_text(source_note(source, version, patches))
        info = {
            "libgphoto2": version,
            "source": source.origin,
            "patches": patches,
            "key": key,
            "built": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "seconds": round(time.monotonic() - start, 1),
        }
        (staging / "build-info.json").write_text(json.dumps(info, indent=2) + "\n")
        shutil.rmtree(cached, ignore_errors=True)
        staging.rename(cached)
    log(f"built in {time.monotonic() - start:.0f} s from {source.origin}")
    return cached


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--libgphoto2-source",
        type=Path,
        metavar="DIR|TARBALL",
        default=Path(os.environ[SOURCE_ENV]) if os.environ.get(SOURCE_ENV) else None,
        help="libgphoto2 source to patch instead of the Debian source package "
        f"(default: ${SOURCE_ENV})",
    )
    parser.add_argument(
        "--cache-dir",
        type=Path,
        default=default_cache_dir(),
        help="where builds are cached (default: %(default)s)",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even when cached")
    args = parser.parse_args(argv)
    try:
        version = loaded_libgphoto2_version()
        cached = build(version, args.libgphoto2_source, args.cache_dir, args.force)
        dest = install(cached)
    except BuildError as exc:
        print(f"build.py: error: {exc}", file=sys.stderr)
        return 2
    log(f"native layer for libgphoto2 {version} installed in {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

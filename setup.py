"""Builds the native decoder step (inference/native/csrc) when the project is installed.

The same C sources are built once per instruction set a CPU may have, each into its own shared
library beside inference/native/library.py, which loads the best one this CPU runs. Each build is
optional: a machine without a C compiler (or one too old for a variant's flags) installs without it,
and the native backend then says what is missing while ``backend=auto`` falls back.
"""

from __future__ import annotations

import os
import platform
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

SOURCE_DIR = "inference/native/csrc"
SOURCES = [f"{SOURCE_DIR}/{name}.c" for name in ("pool", "rowops", "gemv", "attention", "step", "info")]
# -fno-wrapv undoes Python's own -fwrapv (sysconfig CFLAGS), which stops gcc vectorising the
# scalar path's short integer dot products (7x slower); this C has no signed overflow to define.
FLAGS = ["-O3", "-fno-wrapv", "-std=c11", "-D_GNU_SOURCE", "-pthread", "-fvisibility=default"]

# Variant name -> compiler flags; the names are library.py's VARIANTS.
X86_VARIANTS = {
    "amx": ["-march=x86-64-v4", "-mavx512vnni", "-mamx-tile", "-mamx-int8", "-mtune=generic"],
    "avx512vnni": ["-march=x86-64-v4", "-mavx512vnni", "-mtune=generic"],
    "avxvnni": ["-march=x86-64-v3", "-mavxvnni", "-mtune=generic"],
    "avx2": ["-march=x86-64-v3", "-mtune=generic"],
}
PORTABLE = {"portable": []}  # the scalar path: any CPU the compiler targets by default


def variants() -> dict[str, list[str]]:
    if platform.machine().lower() in ("x86_64", "amd64") and sys.platform != "win32":
        return {**X86_VARIANTS, **PORTABLE}
    return dict(PORTABLE)


def library_name(variant: str) -> str:
    return f"inference.native.musicgen_step_{variant}"


class BuildNative(build_ext):
    """Builds each variant as a plain shared library (loaded with ctypes, not imported)."""

    def get_ext_filename(self, fullname: str) -> str:
        # Called with the module's path or, from get_ext_fullpath, its last part only.
        if fullname.rsplit(".", 1)[-1].startswith("musicgen_step_"):
            return os.path.join(*fullname.split(".")) + ".so"
        return super().get_ext_filename(fullname)

    def build_extension(self, ext: Extension) -> None:
        variant = ext.name.rsplit("_", 1)[1]
        target = self.get_ext_fullpath(ext.name)
        try:
            objects = self.compiler.compile(
                ext.sources,
                output_dir=os.path.join(self.build_temp, variant),
                macros=[("MG_VARIANT", f'"{variant}"')],
                include_dirs=[SOURCE_DIR],
                extra_postargs=[*FLAGS, *ext.extra_compile_args],
            )
            os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
            self.compiler.link_shared_object(objects, target, libraries=["m"], extra_postargs=["-pthread"])
        except Exception as exc:
            print(f"music-genie: the native step's {variant} build was skipped: {exc}", file=sys.stderr)


setup(
    ext_modules=[
        Extension(library_name(name), sources=SOURCES, extra_compile_args=flags, optional=True)
        for name, flags in variants().items()
    ],
    cmdclass={"build_ext": BuildNative},
)

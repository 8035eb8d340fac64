"""Build of the compiled market-data kernel; pyproject.toml holds the package metadata.

`pip install -e .` (what `make` runs) compiles `core/_book_kernel.pyx` with Cython (a build
requirement in pyproject.toml) and puts the module next to its source. The extension is
optional: when it cannot be compiled (no C compiler) the install still succeeds and
`polymarket_bot.core.book` runs its pure-Python path (tests/core/test_book_kernel.py fails under
CI=true when the compiled module is missing, and anywhere when it is older than its source).
"""

from __future__ import annotations

import os
from typing import Any

from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext


class BuildExt(build_ext):
    """Replaces a built module instead of rewriting it in place: a running process has the old
    one mapped, and rewriting those pages under it would crash it."""

    def copy_file(self, infile: str, outfile: str, *args: Any, **kwargs: Any) -> Any:
        if outfile.endswith((".so", ".pyd")) and os.path.isfile(outfile):
            os.unlink(outfile)
        return super().copy_file(infile, outfile, *args, **kwargs)


KERNEL = Extension(
    "polymarket_bot.core._book_kernel",
    ["src/polymarket_bot/core/_book_kernel.pyx"],
    optional=True,
)

setup(
    ext_modules=cythonize([KERNEL], language_level=3, quiet=True),
    cmdclass={"build_ext": BuildExt},
)

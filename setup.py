"""Only the C extension lives here; everything else is in pyproject.toml.

The CSV scanner is optional: without a C compiler the install still succeeds and CSV members
are read by Arrow's reader instead (marina_assets/parsing/csv_native.py).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "marina_assets.parsing._csvscan",
            ["marina_assets/parsing/_csvscan.c"],
            extra_compile_args=["-O3", "-std=gnu11"],
            optional=True,
        )
    ]
)
